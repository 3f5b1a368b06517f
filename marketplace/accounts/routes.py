"""Account routes: thin views over the accounts services (sign-up, log-in, sessions)."""

from __future__ import annotations

import time
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import bp
from marketplace.accounts import services as accounts
from marketplace.accounts.forms import (
    ChangePasswordForm,
    ConfirmSignupForm,
    LoginForm,
    LogoutEverywhereForm,
    LogoutForm,
    NotificationsForm,
    SettingsForm,
    SignupForm,
    field_name,
)
from marketplace.accounts.models import User
from marketplace.accounts.sessions import SESSION_KEYS, end_all_sessions, end_session, start_session
from marketplace.accounts.signups import confirm_signup, pending_signup, request_signup
from marketplace.clock import utcnow
from marketplace.errors import NotFound, ServiceError, apply_service_error
from marketplace.extensions import db, limiter
from marketplace.mail import KINDS, NON_ESSENTIAL, opted_out_kinds, set_mail_preferences


def safe_next(default: str, target: str | None = None) -> str:
    """The `next` target if it stays on this site, else `default` (no open redirects)."""
    target = request.values.get("next", "") if target is None else target
    parts = urlsplit(target)
    local = target.startswith("/") and not target.startswith("//") and not parts.netloc
    if local and "\\" not in target and target.isprintable():
        return target
    return default


def begin_session(user: User, *, fresh: bool = True) -> None:
    """Log `user` in on this browser: a server-side session row, then Flask-Login's keys."""
    token = start_session(db.session(), user)
    login_user(user, fresh=fresh)
    session["_sid"] = token
    session["_seen"] = int(time.time())


def _config(name: str):
    return lambda: current_app.config[name]


def _form_email() -> str:
    """The rate-limit key of the account a form names (its email as typed, lower-cased)."""
    return "email:" + request.form.get("email", "").strip().lower()[:254]


@cache
def time_zone_names() -> list[str]:
    """Every IANA time zone name this system knows, sorted (UTC first)."""
    names = sorted(n for n in available_timezones() if "/" in n and not n.startswith("Etc/"))
    return ["UTC", *names]


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_config("SIGNUP_LIMIT_PER_IP"), methods=["POST"])
@limiter.limit(_config("SIGNUP_LIMIT_PER_EMAIL"), key_func=_form_email, methods=["POST"])
def signup():
    """Ask for an account: the address gets a link that creates it (or, if it has an account,
    a note saying so); the page says the same either way. An invitation's link fills in its
    email and the team member role (?email=&role=participant); both can still be changed."""
    form = SignupForm()
    if request.method == "GET":
        if request.args.get("role") in {"creator", "participant"}:
            form.role.data = request.args["role"]
        form.email.data = request.args.get("email", "")[:254]
    if form.validate_on_submit():
        try:
            email = request_signup(
                db.session(),
                email=form.email.data or "",
                password=form.password.data or "",
                role=form.role.data or "",
                display_name=form.display_name.data or "",
                next_path=safe_next(""),
            )
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            return render_template("auth/signup_sent.html", email=email)
    return render_template("auth/signup.html", form=form), 200 if not form.errors else 422


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(_config("SIGNUP_LIMIT_PER_IP"), methods=["POST"])
def confirm(token: str):
    """The emailed sign-up link: a button that creates the account and logs in."""
    try:
        pending = pending_signup(db.session(), token)
    except NotFound as error:
        return render_template("errors/404.html", error=error), 404
    form = ConfirmSignupForm()
    if form.validate_on_submit():
        try:
            user = confirm_signup(db.session(), token, time_zone=form.time_zone.data)
        except ServiceError as error:
            flash(error.message, "error")
            return redirect(url_for("auth.login"))
        begin_session(user)
        flash("Welcome to Cliffhanger.", "success")
        return redirect(safe_next(url_for("main.home"), pending.next_path))
    return render_template("auth/confirm.html", form=form, email=pending.email)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_config("LOGIN_LIMIT_PER_IP"), methods=["POST"])
@limiter.limit(
    _config("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_form_email,
    methods=["POST"],
    # Failed attempts count against the account, wherever they come from; once over the
    # limit, even the right password waits until the window has passed.
    deduct_when=lambda response: response.status_code == 401,
)
def login():
    """Log in; a wrong email or password gets one generic message."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(
            db.session(), email=form.email.data or "", password=form.password.data or ""
        )
        if user is None:
            form.form_errors.append("Email or password is not correct.")
        else:
            begin_session(user)
            return redirect(safe_next(url_for("main.home")))
    status = 401 if form.form_errors else 200
    return render_template("auth/login.html", form=form), status


def _end_this_session() -> None:
    token = session.get("_sid")
    logout_user()
    for key in SESSION_KEYS:
        session.pop(key, None)
    end_session(db.session(), token)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST with CSRF, so no other site can log you out): the session ends on the
    server too, so a copy of the cookie stops working."""
    form = LogoutForm()
    if form.validate_on_submit():
        _end_this_session()
        flash("You are logged out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """End every session of the user, on every device, this one included."""
    form = LogoutEverywhereForm()
    if form.validate_on_submit():
        end_all_sessions(db.session(), current_user._get_current_object())
        _end_this_session()
        flash("You are logged out on every device.", "info")
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
                current=form.current_password.data or "",
                new=form.new_password.data or "",
            )
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            # Every other session of the user ends (User.get_id); this one carries on.
            login_user(current_user._get_current_object(), fresh=True)
            flash("Your password was changed.", "success")
            return redirect(url_for("main.home"))
    status = 200 if not form.errors else 422
    page = render_template(
        "auth/change_password.html", form=form, everywhere_form=LogoutEverywhereForm()
    )
    return page, status



@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The person's time zone and language."""
    form = SettingsForm()
    form.time_zone.choices = [(name, name.replace("_", " ")) for name in time_zone_names()]
    form.language.choices = [("", _("The browser's language")), *accounts.LANGUAGES.items()]
    if request.method == "GET":
        form.time_zone.data = current_user.time_zone
        form.language.data = current_user.language or ""
    if form.validate_on_submit():
        try:
            accounts.update_settings(
                db.session(),
                current_user,
                time_zone=form.time_zone.data or "",
                language=form.language.data or "",
            )
        except ServiceError as error:
            apply_service_error(form, error)
        else:
            refresh()  # the page's language may just have changed: the flash speaks it
            language = accounts.LANGUAGES.get(current_user.language or "")
            flash(
                _("Settings saved: dates in %(zone)s, %(language)s.", zone=current_user.time_zone,
                  language=language or _("the browser's language")),
                "success",
            )
            return redirect(url_for("auth.settings"))
    return render_template(
        "auth/settings.html", form=form, now=utcnow()
    ), 200 if not form.errors else 422


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
