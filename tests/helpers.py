"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select

from ledger.schema import Posting

PASSWORD = "correct horse battery"

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token_from(html: str) -> str:
    """The CSRF token a rendered page carries in its meta tag."""
    match = CSRF_META.search(html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


def ledger_movement(db, accounts, start, end) -> int:
    """What the ledger's postings moved on the accounts in [start, end), credit-positive: what
    a statement of those accounts must add up to."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0)).where(
            Posting.account_id.in_(accounts),
            Posting.effective_at >= start,
            Posting.effective_at < end,
        )
    )
    return -int(total)


def split_form(rows):
    """The split page's form data for rows of (email, role, credit name, bps): shares are
    typed in percent."""
    data = {"submit": "Save split"}
    for i, (email, role, credit, bps) in enumerate(rows):
        data |= {
            f"rows-{i}-email": email,
            f"rows-{i}-role": role,
            f"rows-{i}-credit_name": credit,
            f"rows-{i}-share": str(Decimal(bps) / 100),
        }
    return data


_REFS: dict[str, int] = {}


def ref_of(key: str) -> int:
    """A stable int ref for a named event posted straight to the ledger in a test (the
    partner API's events use their event log row id); the same name gives the same ref."""
    return _REFS.setdefault(key, 10_000_000 + len(_REFS))


SIGNUP_LINK = re.compile(r"https?://\S+(/auth/confirm/\S+)")


def signup_link_path(db, email: str) -> str:
    """The path of the newest sign-up link mailed to `email` (read from the outbox)."""
    from marketplace.mail import OutboxMessage

    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email, OutboxMessage.kind == "signup.confirm")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"no sign-up link was mailed to {email}"
    match = SIGNUP_LINK.search(message.body_text)
    assert match, message.body_text
    return match.group(1)
