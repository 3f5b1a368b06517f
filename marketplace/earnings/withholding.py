"""The tax withheld from a statement's payouts, said on their lines: a payout line of the
statement is the gross that left the earnings accounts; the payout feature knows how much of
it was withheld for US tax (the rest was transferred)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.formatting import format_money
from marketplace.payouts.models import PayoutLine

if TYPE_CHECKING:
    from marketplace.earnings.statements import LineView


def show_withholding(session: Session, items: dict[int, LineView]) -> None:
    """Say on each payout line how much of it was US tax withheld (the rest was paid)."""
    if not items:
        return
    withheld = session.execute(
        select(PayoutLine.id, PayoutLine.withheld, PayoutLine.currency).where(
            PayoutLine.id.in_(items), PayoutLine.withheld > 0
        )
    ).tuples()
    for line_id, amount, currency in withheld:
        items[line_id].label += f", of which US tax withheld {format_money(amount, currency)}"
