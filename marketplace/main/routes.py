"""Landing page and the per-role home redirect."""

from flask import current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace.accounts.models import Role
from marketplace.main import bp

ROLE_HOMES = {
    Role.ADMIN: "admin.overview",
    Role.CREATOR: "studio.index",
    Role.PARTICIPANT: "earnings.dashboard",
}


@bp.route("/")
def index():
    """What Cliffhanger is, with the way in."""
    return render_template("main/index.html")


@bp.route("/home")
@login_required
def home():
    """Send each role to the page it starts from."""
    endpoint = ROLE_HOMES.get(current_user.role, "main.index")
    if endpoint not in current_app.view_functions:
        endpoint = "main.index"
    return redirect(url_for(endpoint))


@bp.route("/healthz")
def healthz():
    """Liveness for load balancers: answers without touching the database."""
    return {"status": "ok"}
