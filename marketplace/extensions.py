"""Unbound Flask extensions; `create_app` binds them with `init_app`."""

from typing import TYPE_CHECKING, ClassVar

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase

from ledger.schema import metadata


class Base(DeclarativeBase):
    """Base of the web app's models; shares the ledger's MetaData so one Alembic history
    covers both and foreign keys to ledger tables resolve by name."""

    metadata = metadata
    if TYPE_CHECKING:
        # Declared FromClause by SQLAlchemy; every model here is mapped to a plain Table.
        __table__: ClassVar[Table]


db = SQLAlchemy(model_class=Base)
"""db.session is the scoped proxy; entry points (views, CLI commands, jobs) hand services
db.session(), the app context's own sqlalchemy.orm.Session, which is what services take."""

if TYPE_CHECKING:
    # mypy takes no base class from an attribute (db.Model): to it, models derive from Base,
    # the class db.Model is built from (Flask-SQLAlchemy adds its query property and binds).
    Model = Base
else:
    Model = db.Model
"""What every model derives from: db.Model."""

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
"""Rate limits in RATELIMIT_STORAGE_URI (Redis in production: shared by every worker); routes
add their own limits with `limiter.limit`, keyed by client address unless they say otherwise."""
babel = Babel()
"""Translations (translations/<language>/LC_MESSAGES) and Babel's locale and time zone for each
request; marketplace.formatting holds the selectors create_app binds it with."""
