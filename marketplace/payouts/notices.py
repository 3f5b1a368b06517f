"""Emails to payees about their payouts (sent, paid, failed; action required), through the
outbox. Each is queued in the transaction of the change it reports, with a dedupe key, so a
repeat of that change (a webhook redelivered, a batch run again) never mails twice."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from marketplace.accounts.services import language_of
from marketplace.formatting import format_money, speaking
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
    REASON_PENDING: _l("Accept the invitation in your email to receive this money."),
    REASON_NO_ACCOUNT: _l("Set up payouts with Stripe on your Payouts page."),
    REASON_NOT_ENABLED: _l("Finish Stripe's onboarding from your Payouts page."),
    REASON_NO_TAX_PROFILE: _l("Fill in your W-9 (US persons) or W-8BEN on your Payouts page."),
    REASON_BELOW_MINIMUM: _l(
        "Nothing to do: it is paid once your balance reaches the minimum."
    ),
    REASON_NEGATIVE: _l(
        "Nothing to do: refunds took back more than you earned; new earnings cover it first."
    ),
}
"""What a payee does about each fixed exclusion reason (the others carry their fix), in the
reader's language."""

REASON_LABELS = {
    REASON_PENDING: _l("invitation pending"),
    REASON_NEGATIVE: _l("negative balance"),
    REASON_BELOW_MINIMUM: _l("below minimum"),
    REASON_NO_ACCOUNT: _l("no payout account"),
    REASON_NOT_ENABLED: _l("payout account not enabled"),
    REASON_NO_TAX_PROFILE: _l("no tax profile"),
}
"""The fixed reasons as people read them (the stored reason stays English: CSV and API)."""


def reason_fix(reason: str) -> str:
    """What the payee can do about an exclusion reason, in the reader's language."""
    fix = PAYEE_FIXES.get(reason)
    return str(fix) if fix is not None else ""


def reason_label(reason: str) -> str:
    """An exclusion reason in the reader's language (other reasons as recorded)."""
    label = REASON_LABELS.get(reason)
    return str(label) if label is not None else reason


def _amounts(line: PayoutLine) -> str:
    text = format_money(line.amount, line.currency)
    if line.withheld:
        text += _(
            " (%(withheld)s US tax withheld)", withheld=format_money(line.withheld, line.currency)
        )
    if line.converted and line.payout_amount is not None and line.payout_currency:
        text += _(
            ", paid as %(amount)s", amount=format_money(line.payout_amount, line.payout_currency)
        )
    return text


def notify_line(session: Session, line: PayoutLine) -> None:
    """Queue the email telling the payee their payout was sent, paid, or failed and why."""
    if not line.payee or line.status not in ("sent", "paid", "failed"):
        return
    page = absolute("/payouts/")
    with speaking(language_of(session, line.payee)):
        amount = format_money(line.amount, line.currency)
        if line.status == "sent":
            subject = _("Your payout of %(amount)s is on its way", amount=amount)
            body = _(
                "Your Cliffhanger payout of %(amounts)s was sent to your Stripe account; "
                "your bank receives it in a few days.\n\nYour payouts: %(page)s\n",
                amounts=_amounts(line), page=page,
            )
        elif line.status == "paid":
            subject = _("Your payout of %(amount)s was paid", amount=amount)
            body = _(
                "Your Cliffhanger payout of %(amounts)s has reached your bank account.\n\n"
                "Your payout history: %(page)s\n",
                amounts=_amounts(line), page=page,
            )
        else:
            subject = _("Your payout of %(amount)s failed", amount=amount)
            body = _(
                "Your Cliffhanger payout of %(amount)s could not be made: %(reason)s\n\n"
                "The money is back in your available balance and will be included in the next "
                "payout. Check your payout account on your Payouts page: %(page)s\n",
                amount=amount, reason=line.reason, page=page,
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
    with speaking(language_of(session, to)):
        lines = []
        for currency, amount, reason, fix in items:
            fix = reason_fix(reason) or fix  # a fixed reason's fix in the reader's language
            lines.append(
                f"- {format_money(amount, currency)}: {reason_label(reason)}."
                + (f" {fix}" if fix else "")
            )
        body = _(
            "Some of your Cliffhanger earnings could not be included in this week's payout:"
            "\n\n%(lines)s\n\nYour Payouts page: %(page)s\n",
            lines="\n".join(lines), page=absolute("/payouts/"),
        )
        subject = _("Action required before you can be paid")
    queue_mail(
        session,
        to=to,
        subject=subject,
        body=body,
        kind="action.required",
        dedupe_key=key,
    )
