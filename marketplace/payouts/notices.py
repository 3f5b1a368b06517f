"""Emails to participants about their payouts (paid, failed), through the outbox."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.formatting import format_money
from marketplace.mail import queue_mail
from marketplace.payouts.models import PayoutLine


def notify_line(session: Session, line: PayoutLine) -> None:
    """Queue the email telling the payee their payout was paid, or failed and why."""
    if not line.payee or line.status not in ("paid", "failed"):
        return
    amount = format_money(line.amount, line.currency)
    if line.status == "paid":
        subject = f"Your payout of {amount} was paid"
        body = (
            f"Your Cliffhanger payout of {amount} has reached your bank account.\n\n"
            "Your payout history is on your Payouts page."
        )
    else:
        subject = f"Your payout of {amount} failed"
        body = (
            f"Your Cliffhanger payout of {amount} could not be made: {line.reason}\n\n"
            "The money is back in your available balance and will be included in the next "
            "payout. Check your payout account on your Payouts page."
        )
    queue_mail(session, to=line.payee, subject=subject, body=body, kind=f"payout.{line.status}")
