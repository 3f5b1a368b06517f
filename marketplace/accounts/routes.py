"""Account routes: thin views over services.accounts."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import bp
from marketplace.accounts import services as accounts
from marketplace.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    LogoutForm,
    NotificationsForm,
    SignupForm,
    field_name,
)
from marketplace.errors import ServiceError, apply_service_error
from marketplace.extensions import db
from marketplace.mail import KINDS, NON_ESSENTIAL, opted_out_kinds, set_mail_preferences


def safe_next(default: str) -> str:
    """The `next` target if it stays on this site, else `default` (no open redirects)."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Create an account, then log in. An invitation's link fills in its email and the team
    member role (?email=&role=participant); the person can still change both."""
    form = SignupForm()
    if request.method == "GET":
        if request.args.get("role") in {"creator", "participant"}:
            form.role.data = request.args["role"]
        form.email.data = request.args.get("email", "")[:254]
    if form.validate_on_submit():
        try:
            user = accounts.register_user(
                db.session(),
                email=form.email.data,
                password=form.password.data,
                role=form.role.data,
                display_name=form.display_name.data or "",
            )
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            login_user(user)
            flash("Welcome to Cliffhanger.", "success")
            return redirect(safe_next(url_for("main.home")))
    return render_template("auth/signup.html", form=form), 200 if not form.errors else 422


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in; a wrong email or password gets one generic message."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(
            db.session(), email=form.email.data, password=form.password.data
        )
        if user is None:
            form.form_errors.append("Email or password is not correct.")
        else:
            login_user(user)
            return redirect(safe_next(url_for("main.home")))
    status = 401 if form.form_errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST with CSRF, so no other site can log you out)."""
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password of the logged-in user."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                db.session(),
                current_user,
                current=form.current_password.data,
                new=form.new_password.data,
            )
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            # Every other session of the user ends (User.get_id); this one carries on.
            login_user(current_user._get_current_object(), fresh=True)
            flash("Your password was changed.", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form), 200 if not form.errors else 422


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    """Turn the non-essential kinds of mail on or off (the others always go out)."""
    form = NotificationsForm()
    address = current_user.email
    if form.validate_on_submit():
        wanted = {kind for kind in NON_ESSENTIAL if getattr(form, field_name(kind)).data}
        set_mail_preferences(db.session(), address, wanted)
        flash("Your mail preferences are saved.", "success")
        return redirect(url_for("auth.notifications"))
    off = opted_out_kinds(db.session(), address)
    if request.method == "GET":
        for kind in NON_ESSENTIAL:
            getattr(form, field_name(kind)).data = kind not in off
    essential = [KINDS[k] for k in KINDS if k not in NON_ESSENTIAL]
    return render_template("auth/notifications.html", form=form, essential=essential)
