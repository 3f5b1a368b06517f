"""Demo data so `make run` has something to click through. Idempotent by natural keys."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.models import Role
from marketplace.services import accounts

DEMO_PASSWORD = "demo-password"  # noqa: S105 - demo only, printed by `make run`

DEMO_USERS = [
    (Role.ADMIN, "admin@example.com", "Ada Admin"),
    (Role.CREATOR, "maya@example.com", "Maya Reyes (creator)"),
    (Role.CREATOR, "jun@example.com", "Jun Park (creator)"),
    (Role.CREATOR, "lola@example.com", "Lola Diaz (creator)"),
    (Role.PARTICIPANT, "writer@example.com", "Sam Writer"),
    (Role.PARTICIPANT, "actor@example.com", "Alex Actor"),
    (Role.PARTICIPANT, "director@example.com", "Dee Director"),
]


def ensure_user(session: Session, role: str, email: str, name: str):
    """The demo user with this email, created if missing."""
    user = accounts.find_user_by_email(session, email)
    if user is None:
        user = accounts.register_user(
            session, email=email, password=DEMO_PASSWORD, role=role, display_name=name
        )
    return user


def load_demo_data(session: Session) -> list[tuple[str, str]]:
    """Create the demo users (and, as features land, their series and money)."""
    for role, email, name in DEMO_USERS:
        ensure_user(session, role, email, name)
    return [(str(role), email) for role, email, _ in DEMO_USERS]
