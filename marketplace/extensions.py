"""Unbound Flask extensions; `create_app` binds them with `init_app`."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from ledger.schema import metadata


class Model(DeclarativeBase):
    """Base of the web app's models; shares the ledger's MetaData so one Alembic history
    covers both and foreign keys to ledger tables resolve by name."""

    metadata = metadata


db = SQLAlchemy(model_class=Model)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
