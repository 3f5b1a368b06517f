"""Cliffhanger's web site: the Flask application factory."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_babel import gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from marketplace.config import load_config
from marketplace.extensions import babel, csrf, db, limiter, login_manager, migrate
from marketplace.formatting import DEFAULT_LANGUAGE, select_language, select_time_zone
from marketplace.logs import configure_logging, register_request_ids

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
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    register_security_headers(app)
    register_request_ids(app)
    register_proxy_fix(app)
    return app


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        # Scripts and styles are files under /static: no inline script, handler or style
        # attribute runs, so an injected one does nothing.
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        # No page may be framed: its approve, send, withdraw and accept buttons would be
        # clickjackable whatever their CSRF tokens.
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Invitation and media links carry tokens: never send them to another site as Referer.
    "Referrer-Policy": "same-origin",
}


def register_security_headers(app: Flask) -> None:
    """Headers every response carries (unless a view set its own); HSTS when HSTS_SECONDS is
    set (production); no-store on every page seen by a logged-in user (balances, statements,
    secrets shown once must not stay in a shared browser's or proxy's cache)."""
    from flask import request
    from flask_login import current_user

    hsts = app.config.get("HSTS_SECONDS", 0)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if hsts:
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"
            )
        if request.endpoint != "static" and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response


def register_proxy_fix(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address, scheme and host from
    their X-Forwarded-* headers (so Stripe return URLs are https and rate limits see the
    client); with 0 (the default) those headers are ignored, as anyone can send them."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


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
    limiter.init_app(app)
    babel.init_app(
        app,
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories=str(ROOT / "translations"),
        locale_selector=select_language,
        timezone_selector=select_time_zone,
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    # Import the models so their tables are on the shared metadata (Alembic, user loader).
    from marketplace import model_registry  # noqa: F401


# (views module, blueprint attribute, url prefix): importing a views module registers its
# routes on the feature's blueprint; a feature's other view modules are imported by it.
BLUEPRINTS = (
    ("marketplace.main.routes", "bp", None),
    ("marketplace.accounts.routes", "bp", "/auth"),
    ("marketplace.admin.routes", "bp", "/admin"),
    ("marketplace.studio.routes", "bp", "/studio"),
    ("marketplace.splits.routes", "bp", "/studio"),
    ("marketplace.publishing.routes", "bp", "/studio"),
    ("marketplace.dashboard.routes", "bp", "/studio"),
    ("marketplace.earnings.routes", "bp", "/earnings"),
    ("marketplace.payouts.routes", "bp", "/payouts"),
    ("marketplace.tax.routes", "bp", "/tax"),
    ("marketplace.payouts.routes", "webhook_bp", None),  # POST /stripe/webhook
    ("marketplace.ingest.api.routes", "bp", "/api/v1"),
    ("marketplace.settlements.api", "api_bp", "/api/v1/settlements"),
    ("marketplace.reconciliation.api", "bp", "/api/v1/settlements"),
)


class RowIdConverter(IntegerConverter):
    """`<int:...>` in URLs: at most a 32-bit row id, so a 40-digit id is a 404, not a number no
    column can hold."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_blueprints(app: Flask) -> None:
    """Mount each feature's blueprint."""
    app.url_map.converters["int"] = RowIdConverter
    for module_name, attribute, prefix in BLUEPRINTS:
        blueprint = getattr(importlib.import_module(module_name), attribute)
        app.register_blueprint(blueprint, url_prefix=prefix)
    from marketplace.ingest import bp as api_bp
    from marketplace.reconciliation.api import bp as reconciliation_api_bp
    from marketplace.settlements import api_bp as settlements_api_bp

    # Partner requests are authenticated by HMAC signatures, not cookies.
    csrf.exempt(api_bp)
    csrf.exempt(settlements_api_bp)
    csrf.exempt(reconciliation_api_bp)


def register_errorhandlers(app: Flask) -> None:
    """Friendly pages for 400/403/404/413/500 that never show a stack trace."""
    from flask import request

    from marketplace.ingest.api.routes import routing_error

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

    def out_of_range(error: Exception):
        # A value the database (or Python) cannot hold came from the request: a 40-digit
        # number in a query string or form, text PostgreSQL refuses. The request is at fault:
        # 400, never 500 (views validate what they know; this is the net under them).
        db.session.rollback()
        app.logger.warning("input out of range: %s", type(error).__name__)
        return render_error(BadRequest("A value in the request is out of range."))

    app.register_error_handler(DataError, out_of_range)
    app.register_error_handler(OverflowError, out_of_range)

    @app.before_request
    def refuse_nul_bytes():
        """No text with NUL reaches a view: PostgreSQL refuses it in text columns, and no
        name, title or email holds one."""
        if request.path.startswith("/api/") or request.endpoint == "stripe_webhooks.stripe_webhook":
            return  # signed raw bodies: their own checks, and the form parser must not eat them
        values = [*request.args.keys(), *request.args.values()]
        # Multipart bodies are left to their views, which set their own size cap before the
        # form is read (an import may be larger than an upload); a NUL that reaches
        # PostgreSQL from one is still a 400 (out_of_range above).
        if request.mimetype == "application/x-www-form-urlencoded":
            values += request.form.values()
        if any("\x00" in value for value in values):
            raise BadRequest("The request holds a NUL character.")


def register_template_helpers(app: Flask) -> None:
    """Filters used by templates (money is formatted only at the edge)."""
    from flask_babel import get_locale

    from marketplace.formatting import format_money, localdate, localtime, percent
    from marketplace.navigation import nav_links, role_name

    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["localdate"] = localdate
    app.jinja_env.globals["nav_links"] = nav_links
    app.jinja_env.globals["role_name"] = role_name
    app.jinja_env.globals["page_language"] = lambda: str(get_locale() or DEFAULT_LANGUAGE)
    app.jinja_env.globals["action_items"] = _action_items


def _action_items() -> list:
    """The signed-in payee's action-required banners (templates/_alerts.html)."""
    from flask_login import current_user

    from marketplace.clock import utcnow
    from marketplace.earnings.alerts import action_items
    from marketplace.extensions import db

    if not current_user.is_authenticated:
        return []
    return action_items(db.session(), current_user, utcnow())


def register_commands(app: Flask) -> None:
    """Attach each feature's `flask ...` command group (thin entry points onto its services)."""
    from marketplace.accounts.cli import users_cli
    from marketplace.books.cli import ledger_cli
    from marketplace.demo.cli import demo_cli
    from marketplace.ingest.cli import coins_cli
    from marketplace.partners.cli import partners_cli
    from marketplace.payouts.cli import payouts_cli
    from marketplace.publishing.cli import series_cli, studio_cli
    from marketplace.reconciliation.cli import register as register_reconciliation
    from marketplace.scheduler.cli import scheduler_cli
    from marketplace.settlements.cli import settlements_cli
    from marketplace.tax.cli import tax_cli

    register_reconciliation(settlements_cli)
    for group in (
        users_cli,
        demo_cli,
        ledger_cli,
        coins_cli,
        partners_cli,
        payouts_cli,
        scheduler_cli,
        settlements_cli,
        studio_cli,
        series_cli,
        tax_cli,
    ):
        app.cli.add_command(group)


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
