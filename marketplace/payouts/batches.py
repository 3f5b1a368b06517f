"""Building a payout batch: who is paid what, and the money reserved in the ledger, in bulk.

One batch per period (the UTC day of `as_of`): the unique period key decides, so two
schedulers or two builds racing for a period make one batch and the loser gets the winner's.
A user's payable balance per currency is the sum of the available balances (at `as_of`) of
the earnings accounts of their accepted memberships. A line is excluded, with a reason that
says what to do, when the payee has no payout account, one Stripe cannot pay from this
platform (payouts.stripe_rules), one not enabled yet, earnings in a currency the platform
cannot transfer, or no tax profile; the payee is mailed once per batch about what they can
fix. Each paying line reserves its money with one ledger entry (Dr each member earnings
account by its available amount, Cr platform payouts in transit by what is transferred, Cr
the payee's tax-withheld liability by the tax their profile calls for), so the same money
cannot be in two batches. Everything is set-based: a
few queries, the lines written with COPY (executemany on SQLite), and the reservation entries
(payout_reservations) written by the ledger's bulk writer in one call.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import String, cast, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.journal import copy_field, copy_text, is_postgresql, iso, reserve_ids
from ledger.schema import Account, BalanceRow, PendingRow
from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.clock import utcnow
from marketplace.payouts.crossborder import stripe_rules
from marketplace.payouts.models import PayoutAccount, PayoutBatch, PayoutLine
from marketplace.payouts.notices import (
    REASON_BELOW_MINIMUM,
    REASON_NEGATIVE,
    REASON_NO_ACCOUNT,
    REASON_NO_TAX_PROFILE,
    REASON_NOT_ENABLED,
    REASON_PENDING,
    notify_action_required,
    reason_fix,
)
from marketplace.payouts.reservations import Reservation, reserve_lines
from marketplace.splits.models import TeamMember
from marketplace.tax.rules import Withholding, withheld
from marketplace.tax.services import withholding_by_user


@dataclass
class BuildResult:
    """A build's outcome: the period's batch, and whether this call created it."""

    batch: PayoutBatch
    created: bool


@dataclass
class _Payee:
    """One user's money in one currency: (account_id, available) per membership."""

    user_id: int
    email: str
    currency: str
    legs: list[tuple[int, int]] = field(default_factory=list)
    total: int = 0

    def add(self, account_id: int, amount: int) -> None:
        """Add one membership's earnings account and its available amount."""
        self.legs.append((account_id, amount))
        self.total += amount


def period_key_for(as_of: datetime) -> str:
    """The batch period a moment belongs to: its UTC day."""
    return as_of.astimezone(UTC).date().isoformat()


def exceeds_ten_times_median(amount: int, history: list[int]) -> bool:
    """Whether amount > 10 x the median of earlier payouts (integers only, no float)."""
    if not history:
        return False
    ordered = sorted(history)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return amount > 10 * ordered[middle]
    return 2 * amount > 10 * (ordered[middle - 1] + ordered[middle])


def build_batch(
    session: Session,
    *,
    as_of: datetime | None = None,
    minimum: int = 1000,
    approvals_required: int = 1,
    created_by_id: int | None = None,
    now: datetime | None = None,
    platform_country: str = "US",
    withholding_bps: tuple[int, int] | None = None,
) -> BuildResult:
    """Build the draft batch of the period of `as_of` (or return the one already built);
    withholding_bps: (backup, non-resident) rates, by default the app's configuration."""
    now = now or utcnow()
    as_of = as_of or now
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if as_of > now:
        # Money available at a future moment is still on hold now: paying it would send money
        # a refund may yet take back, and leave the available balance negative meanwhile.
        raise ValueError("as_of must not be in the future")
    key = period_key_for(as_of)
    existing = session.scalar(select(PayoutBatch).where(PayoutBatch.period_key == key))
    if existing is not None:
        return BuildResult(existing, False)
    batch = PayoutBatch(
        period_key=key,
        as_of=as_of,
        approvals_required=max(1, approvals_required),
        created_by_id=created_by_id,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(batch)
            session.flush()
    except IntegrityError:
        # Another build won the period; its batch is committed by now (the unique index waited).
        winner = session.scalars(select(PayoutBatch).where(PayoutBatch.period_key == key)).one()
        return BuildResult(winner, False)
    backup, nra = withholding_bps or (None, None)
    tax = withholding_by_user(session, backup_bps=backup, nra_bps=nra)
    counts = _fill_batch(
        session, batch, minimum=minimum, now=now, platform=platform_country, tax=tax
    )
    record_audit(
        session,
        actor_id=created_by_id,
        action="payout.batch.build",
        subject_type="payout_batch",
        subject_id=batch.id,
        details={"period": key, "as_of": as_of.isoformat(), **counts},
    )
    session.commit()
    return BuildResult(batch, True)


def _memberships(session: Session, as_of: datetime):
    """Every team member with an earnings account and that account's available balance at
    `as_of`: (member, user, email, accepted, account, currency, available).

    Available is computed as ledger.balances.get_balances does (posted from ledger_balances
    minus ledger_pending rows not yet available), but in one set-based query: an IN list of
    100,000 account ids is what made the per-id API too slow for a whole batch."""
    pending = (
        select(PendingRow.account_id, func.sum(PendingRow.amount).label("amount"))
        .where(PendingRow.available_at > as_of)
        .group_by(PendingRow.account_id)
        .subquery()
    )
    return session.execute(
        select(
            TeamMember.id,
            TeamMember.user_id,
            func.coalesce(User.email, TeamMember.email),
            TeamMember.accepted_at.is_not(None) & TeamMember.user_id.is_not(None),
            Account.id,
            Account.currency,
            BalanceRow.posted - func.coalesce(pending.c.amount, 0),
        )
        .join(
            Account,
            (Account.owner_type == "member")
            & (Account.purpose == "earnings")
            & (Account.owner_id == cast(TeamMember.id, String)),
        )
        .join(BalanceRow, BalanceRow.account_id == Account.id)
        .outerjoin(pending, pending.c.account_id == Account.id)
        .outerjoin(User, User.id == TeamMember.user_id)
        .order_by(TeamMember.id, Account.id)
    ).all()


def _history(session: Session) -> tuple[set[int], dict[tuple[int, str], list[int]]]:
    """Payout accounts already paid, and earlier payout amounts per (user, currency)."""
    paid_accounts: set[int] = set()
    amounts: dict[tuple[int, str], list[int]] = defaultdict(list)
    rows = session.execute(
        select(
            PayoutLine.payout_account_id, PayoutLine.user_id, PayoutLine.currency, PayoutLine.amount
        ).where(PayoutLine.status.in_(("sent", "paid")))
    )
    for account_id, user_id, currency, amount in rows:
        paid_accounts.add(account_id)
        amounts[user_id, currency].append(amount)
    return paid_accounts, amounts


def _reserve_line_ids(session: Session, count: int) -> list[int]:
    if count == 0:
        return []
    if is_postgresql(session):
        return reserve_ids(session, "payout_lines", count)
    # SQLite: this transaction already holds the write lock (it inserted the batch).
    top = session.execute(select(func.coalesce(func.max(PayoutLine.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + count))


def _payout_accounts(session: Session) -> dict[int, tuple]:
    """user_id -> (account id, stripe account id or None, enabled, country)."""
    return {
        row[0]: tuple(row[1:])
        for row in session.execute(
            select(
                PayoutAccount.user_id,
                PayoutAccount.id,
                PayoutAccount.stripe_account_id,
                PayoutAccount.payouts_enabled,
                PayoutAccount.country,
            )
        )
    }


def _exclusion(payee: _Payee, account, minimum: int, platform: str, tax) -> str | None:
    """Why this payee is not paid in this currency (None: paid), in words with the fix."""
    if payee.total < 0:
        return REASON_NEGATIVE
    if payee.total < minimum:
        return REASON_BELOW_MINIMUM
    if account is None:
        return REASON_NO_ACCOUNT
    route = stripe_rules.payout_route(platform, account[3])
    if route.kind != "connect" or account[1] is None:
        return route.reason or REASON_NO_ACCOUNT
    if not account[2]:
        return REASON_NOT_ENABLED
    unpayable = stripe_rules.unpayable_currency_reason(platform, payee.currency)
    if unpayable:
        return unpayable
    if payee.user_id not in tax:
        return REASON_NO_TAX_PROFILE
    return None


def _fill_batch(
    session: Session,
    batch: PayoutBatch,
    *,
    minimum: int,
    now: datetime,
    platform: str,
    tax: dict[int, Withholding],
) -> dict:
    payees: dict[tuple[int, str], _Payee] = {}
    lines: list[dict] = []
    for member_id, user_id, email, accepted, account_id, currency, available in _memberships(
        session, batch.as_of
    ):
        amount = int(available)
        if amount == 0:
            continue
        if not accepted:
            lines.append(_excluded(batch, None, email, currency, amount, REASON_PENDING, member_id))
            continue
        payee = payees.setdefault((user_id, currency), _Payee(user_id, email, currency))
        payee.add(account_id, amount)
    accounts = _payout_accounts(session)
    paid_accounts, history = _history(session)
    paying: list[_Payee] = []
    for payee in payees.values():
        if payee.total == 0:
            continue
        reason = _exclusion(payee, accounts.get(payee.user_id), minimum, platform, tax)
        if reason:
            lines.append(
                _excluded(batch, payee.user_id, payee.email, payee.currency, payee.total, reason)
            )
        else:
            paying.append(payee)
    ids = _reserve_line_ids(session, len(lines) + len(paying))
    for line, line_id in zip(lines, ids, strict=False):
        line["id"] = line_id
    paying_ids = ids[len(lines) :]
    taxes = [withheld(p.total, tax[p.user_id].rate_bps) for p in paying]
    entries = reserve_lines(
        session,
        batch,
        [
            Reservation(line_id, p.user_id, p.currency, p.total, p.legs, tax_amount)
            for p, line_id, tax_amount in zip(paying, paying_ids, taxes, strict=True)
        ],
        now,
    )
    for payee, line_id, entry, tax_amount in zip(paying, paying_ids, entries, taxes, strict=True):
        account_id, stripe_id, _, _ = accounts[payee.user_id]
        flags = [] if account_id in paid_accounts else ["first_payout"]
        if exceeds_ten_times_median(payee.total, history.get((payee.user_id, payee.currency), [])):
            flags.append("over_10x_median")
        line = _excluded(batch, payee.user_id, payee.email, payee.currency, payee.total, "")
        line.update(
            id=line_id,
            status="proposed",
            amount=payee.total - tax_amount,
            withheld=tax_amount,
            withholding_bps=tax[payee.user_id].rate_bps,
            flags=flags,
            payout_account_id=account_id,
            destination=stripe_id,
            reservation_entry_id=entry,
        )
        lines.append(line)
    _insert_lines(session, lines)
    _notify_excluded(session, batch, lines[: len(lines) - len(paying)])
    return {"paying": len(paying), "excluded": len(lines) - len(paying)}


def _notify_excluded(session: Session, batch: PayoutBatch, excluded: list[dict]) -> None:
    """One "action required" mail per payee whose money waits on something they can do."""
    quiet = (REASON_BELOW_MINIMUM, REASON_NEGATIVE, REASON_PENDING)
    by_payee: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for line in excluded:
        if line["user_id"] is not None and line["reason"] not in quiet:
            by_payee[line["user_id"], line["payee"]].append(line)
    for (user_id, email), waiting in by_payee.items():
        notify_action_required(
            session,
            to=email,
            key=f"action:batch:{batch.id}:{user_id}",
            items=[
                (ln["currency"], ln["amount"], ln["reason"], reason_fix(ln["reason"]))
                for ln in waiting
            ],
        )


LINE_COLUMNS = (
    "id", "batch_id", "user_id", "member_id", "payee", "currency", "amount", "status", "reason",
    "flags", "payout_account_id", "destination", "reservation_entry_id", "created_at",
    "withheld", "withholding_bps",
)  # fmt: skip


def _insert_lines(session: Session, lines: list[dict]) -> None:
    """Multi-row insert of the lines: COPY on PostgreSQL, executemany on SQLite."""
    if not lines:
        return
    if not is_postgresql(session):
        session.execute(insert(PayoutLine.__table__), lines)
        return
    copy_text(session, "payout_lines", ", ".join(LINE_COLUMNS), _line_text(lines))


def _line_text(lines: list[dict]) -> str:
    # copy_rows' formatting unrolled for the line's columns (a batch has 100,000 lines): ids
    # and amounts are ints; the flags' JSON and the batch's one created_at are formatted once.
    flags: dict[tuple[str, ...], str] = {}
    text = copy_field
    rows = []
    for line in lines:
        key = tuple(line["flags"])
        if key not in flags:
            flags[key] = text(json.dumps(line["flags"]))
        rows.append(
            f"{line['id']}\t{line['batch_id']}\t{text(line['user_id'])}\t"
            f"{text(line['member_id'])}\t{text(line['payee'])}\t{text(line['currency'])}\t"
            f"{line['amount']}\t{text(line['status'])}\t{text(line['reason'])}\t{flags[key]}\t"
            f"{text(line['payout_account_id'])}\t{text(line['destination'])}\t"
            f"{text(line['reservation_entry_id'])}\t{iso(line['created_at'])}\t"
            f"{line['withheld']}\t{text(line['withholding_bps'])}\n"
        )
    return "".join(rows)


def _excluded(batch, user_id, email, currency, amount, reason, member_id=None) -> dict:
    # One created_at per batch: the same moment for every line (and COPY formats it once).
    return {
        "batch_id": batch.id,
        "user_id": user_id,
        "member_id": member_id,
        "payee": email or "",
        "currency": currency,
        "amount": amount,
        "status": "excluded",
        "reason": reason,
        "flags": [],
        "payout_account_id": None,
        "destination": None,
        "reservation_entry_id": None,
        "created_at": batch.created_at,
        "withheld": 0,
        "withholding_bps": None,
    }
