"""Cliffhanger's web site: the Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, render_template
from sqlalchemy import event
from sqlalchemy.engine import Engine

from marketplace.config import load_config
from marketplace.extensions import csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the site: configure, bind extensions, register blueprints, errors, commands."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configure(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_security_headers(app)
    return app


SECURITY_HEADERS = {
    # No page may be framed: its approve, send, withdraw and accept buttons would be
    # clickjackable whatever their CSRF tokens.
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # Invitation and media links carry tokens: never send them to another site as Referer.
    "Referrer-Policy": "same-origin",
}


def register_security_headers(app: Flask) -> None:
    """Headers every response carries (unless a view set its own)."""

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def configure(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Load settings from the environment, then apply explicit overrides (tests)."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if overrides:
        app.config.update(overrides)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), compare_type=True, render_as_batch=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    # Import the models so their tables are on the shared metadata (Alembic, user loader).
    from marketplace import models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    """Mount one blueprint per feature."""
    from marketplace.admin import bp as admin_bp
    from marketplace.api import bp as api_bp
    from marketplace.auth import bp as auth_bp
    from marketplace.earnings import bp as earnings_bp
    from marketplace.main import bp as main_bp
    from marketplace.payouts import bp as payouts_bp
    from marketplace.studio import bp as studio_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(studio_bp, url_prefix="/studio")
    app.register_blueprint(earnings_bp, url_prefix="/earnings")
    app.register_blueprint(payouts_bp, url_prefix="/payouts")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # partner requests are authenticated by HMAC signatures, not cookies
    from marketplace.payouts.webhooks import bp as stripe_webhooks_bp  # POST /stripe/webhook

    app.register_blueprint(stripe_webhooks_bp)


def register_errorhandlers(app: Flask) -> None:
    """Friendly pages for 400/403/404/413/500 that never show a stack trace."""
    from flask import request

    from marketplace.api.routes import routing_error

    def render_error(error):
        if request.path.startswith("/api/"):
            # The partner API answers JSON even when routing fails before its blueprint is
            # known (an unmatched path or method).
            return routing_error(error)
        code = getattr(error, "code", 500) or 500
        if code >= 500:
            db.session.rollback()
        return render_template(f"errors/{code}.html", error=error), code

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, render_error)


def register_template_helpers(app: Flask) -> None:
    """Filters used by templates (money is formatted only at the edge)."""
    from marketplace.formatting import format_money
    from marketplace.navigation import nav_links

    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals["nav_links"] = nav_links


def register_commands(app: Flask) -> None:
    """Attach the `flask ...` command groups."""
    from marketplace.cli import register

    register(app)


def configure_sqlite(engine: Engine) -> None:
    """SQLite only: enforce foreign keys, wait for locks, and let SQLAlchemy own transactions
    (pysqlite's own handling breaks savepoints); other engines are left alone."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, connection_record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN")
