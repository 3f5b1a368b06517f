"""The web app's typed models, one module per aggregate."""

from marketplace.models.user import Role, User

__all__ = ["Role", "User"]
