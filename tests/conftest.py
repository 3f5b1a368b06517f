"""Fixture chain: app -> db (per-test rollback) -> client, runner, login_as, factories.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set (CI).
The schema is built once per session by the real Alembic migrations, never by create_all.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid

import pytest
import redis
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

from marketplace import create_app
from marketplace.accounts.sessions import start_session
from marketplace.extensions import db as _db
from marketplace.extensions import limiter

PASSWORD = "correct horse battery"

# Hypothesis: CI loads the `ci` profile (HYPOTHESIS_PROFILE=ci in .ci/run), `make test` `dev`.
settings.register_profile("ci", max_examples=1000, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def database_url(tmp_path_factory) -> str:
    """TEST_DATABASE_URL (PostgreSQL in CI) or a fresh SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


def reset_postgres_public_schema(url: str) -> None:
    """Empty the public schema (tests/ledger keeps to schemas of its own)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def pytest_collection_modifyitems(config, items):
    """Without ffmpeg, skip (saying so) every test whose module uploads real videos."""
    from tests import media

    if media.HAVE_FFMPEG:
        return
    skip = pytest.mark.skip(reason=media.NO_FFMPEG)
    for item in items:
        module = getattr(item, "module", None)
        names = vars(module) if module is not None else {}
        if names.get("video") is media.video or names.get("MP4") is not None:
            item.add_marker(skip)


def rate_limit_storage() -> str:
    """Redis when one answers (TEST_REDIS_URL, default the local one; CI has it), else memory."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError):
        return "memory://"
    return url


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The site, configured for tests, its schema built by `flask db upgrade`."""
    from flask_migrate import upgrade

    url = database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        reset_postgres_public_schema(url)
    app = create_app(
        {
            "TESTING": True,
            "CLIFFHANGER_ENV": "testing",
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
            "SERVER_NAME_FOR_LINKS": "http://localhost",
            "PUBLIC_URL": "http://localhost",
            # Rate limits in Redis under keys of this run only (other runs share the server).
            "RATELIMIT_STORAGE_URI": rate_limit_storage(),
            "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"cliffhanger-test-{uuid.uuid4().hex}"},
        }
    )
    with app.app_context():
        upgrade()
        _db.engine.dispose()
    return app


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Every test starts with no request counted against any rate limit."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        limiter.reset()
    yield


@pytest.fixture
def db(app):
    """The database, inside a transaction rolled back after the test (services' commits
    only release savepoints)."""
    with app.app_context():
        engines = _db.engines  # Flask-SQLAlchemy binds sessions through this mapping
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection
        session = _db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        original = _db.session
        _db.session = session
        try:
            yield _db
        finally:
            session.remove()
            _db.session = original
            engines[None] = engine
            outer.rollback()
            connection.close()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (and `g`), as in production; otherwise Flask
    reuses the test's context and per-request state such as the logged-in user leaks."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db):
    """A test client sharing the test's transaction."""
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def runner(app, db):
    """A CLI runner sharing the test's transaction."""
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One slow hash, reused by every factory-made user (scrypt is deliberately slow)."""
    return generate_password_hash(PASSWORD, method="scrypt")


_seq = itertools.count(1)


@pytest.fixture
def make_user(db, password_hash):
    """Factory: a user with a role (password: PASSWORD)."""
    from marketplace.accounts.models import User

    def make(role: str = "creator", email: str | None = None, name: str = ""):
        n = next(_seq)
        user = User(
            email=(email or f"{role}{n}@example.test").lower(),
            role=role,
            display_name=name or f"{role.title()} {n}",
            password_hash=password_hash,
        )
        db.session.add(user)
        db.session.flush()
        return user

    return make


@pytest.fixture
def make_creator(make_user):
    """Factory: a creator."""
    return lambda **kw: make_user("creator", **kw)


@pytest.fixture
def make_participant(make_user):
    """Factory: a participant (actor, writer, ...)."""
    return lambda **kw: make_user("participant", **kw)


@pytest.fixture
def make_admin(make_user):
    """Factory: an admin."""
    return lambda **kw: make_user("admin", **kw)


@pytest.fixture
def login_as(client, db):
    """Log the test client in as `user`: a server-side session, and Flask-Login's keys."""

    def login(user):
        token = start_session(db.session, user)
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["_sid"] = token
            session["_seen"] = int(time.time())
        return user

    return login


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port; .inbox holds what it received."""
    from marketplace.demo.smtp import LocalSMTP

    server = LocalSMTP().start()
    yield server
    server.stop()


@pytest.fixture
def mail_to(app, smtp_server):
    """The app sends its mail to `smtp_server` for this test (MAIL_* settings restored)."""
    saved = {k: app.config.get(k) for k in smtp_server.config()}
    app.config.update(smtp_server.config())
    yield smtp_server
    app.config.update(saved)
