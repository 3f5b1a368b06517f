"""Emails to payees about their payouts (sent, paid, failed; action required), through the
outbox. Each is queued in the transaction of the change it reports, with a dedupe key, so a
repeat of that change (a webhook redelivered, a batch run again) never mails twice."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.formatting import format_money
from marketplace.mail import queue_mail
from marketplace.navigation import absolute
from marketplace.payouts.models import PayoutLine

REASON_PENDING = "invitation pending"
REASON_NEGATIVE = "negative balance"
REASON_BELOW_MINIMUM = "below minimum"
REASON_NO_ACCOUNT = "no payout account"
REASON_NOT_ENABLED = "payout account not enabled"
REASON_NO_TAX_PROFILE = "no tax profile"
PAYEE_FIXES = {
    REASON_PENDING: "Accept the invitation in your email to receive this money.",
    REASON_NO_ACCOUNT: "Set up payouts with Stripe on your Payouts page.",
    REASON_NOT_ENABLED: "Finish Stripe's onboarding from your Payouts page.",
    REASON_NO_TAX_PROFILE: "Fill in your W-9 (US persons) or W-8BEN on your Payouts page.",
    REASON_BELOW_MINIMUM: "Nothing to do: it is paid once your balance reaches the minimum.",
    REASON_NEGATIVE: "Nothing to do: refunds took back more than you earned; new earnings "
    "cover it first.",
}
"""What a payee does about each fixed exclusion reason (the others carry their fix)."""


def reason_fix(reason: str) -> str:
    """What the payee can do about an exclusion reason."""
    return PAYEE_FIXES.get(reason, "")


def _amounts(line: PayoutLine) -> str:
    text = format_money(line.amount, line.currency)
    if line.withheld:
        text += f" ({format_money(line.withheld, line.currency)} US tax withheld)"
    if line.converted and line.payout_amount is not None and line.payout_currency:
        text += f", paid as {format_money(line.payout_amount, line.payout_currency)}"
    return text


def notify_line(session: Session, line: PayoutLine) -> None:
    """Queue the email telling the payee their payout was sent, paid, or failed and why."""
    if not line.payee or line.status not in ("sent", "paid", "failed"):
        return
    amount = format_money(line.amount, line.currency)
    page = absolute("/payouts/")
    if line.status == "sent":
        subject = f"Your payout of {amount} is on its way"
        body = (
            f"Your Cliffhanger payout of {_amounts(line)} was sent to your Stripe account; "
            f"your bank receives it in a few days.\n\nYour payouts: {page}\n"
        )
    elif line.status == "paid":
        subject = f"Your payout of {amount} was paid"
        body = (
            f"Your Cliffhanger payout of {_amounts(line)} has reached your bank account.\n\n"
            f"Your payout history: {page}\n"
        )
    else:
        subject = f"Your payout of {amount} failed"
        body = (
            f"Your Cliffhanger payout of {amount} could not be made: {line.reason}\n\n"
            "The money is back in your available balance and will be included in the next "
            f"payout. Check your payout account on your Payouts page: {page}\n"
        )
    queue_mail(
        session,
        to=line.payee,
        subject=subject,
        body=body,
        kind=f"payout.{line.status}",
        dedupe_key=f"payout:line:{line.id}:{line.status}",
    )


def notify_action_required(
    session: Session, *, to: str, key: str, items: list[tuple[str, int, str, str]]
) -> None:
    """Queue one "action required" email listing money waiting on the payee:
    items are (currency, amount, reason, fix)."""
    if not to or not items:
        return
    lines = []
    for currency, amount, reason, fix in items:
        lines.append(f"- {format_money(amount, currency)}: {reason}." + (f" {fix}" if fix else ""))
    body = (
        "Some of your Cliffhanger earnings could not be included in this week's payout:\n\n"
        + "\n".join(lines)
        + f"\n\nYour Payouts page: {absolute('/payouts/')}\n"
    )
    queue_mail(
        session,
        to=to,
        subject="Action required before you can be paid",
        body=body,
        kind="action.required",
        dedupe_key=key,
    )
