"""Small builders for ledger tests (accounts, splits, events)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ledger.accounts import AccountType, get_or_create_account
from ledger.allocation.engine import AllocationEvent, split_parties

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def account(session, name, type="liability", currency="USD", owner_type="test", **flags):
    """Create (or fetch) a test account and return its id."""
    return get_or_create_account(
        session,
        owner_type=owner_type,
        owner_id=name,
        purpose="main",
        currency=currency,
        type=AccountType(type),
        **flags,
    ).id


class World:
    """A partner receivable, partner commission, platform fee and participant payables."""

    def __init__(self, session, currency="USD", participants=3):
        self.currency = currency
        self.refs: dict[str, int] = {}
        self.receivable = account(session, "partner-recv", "asset", currency)
        self.commission = account(session, "partner-comm", "income", currency)
        self.fees = account(session, "platform-fees", "income", currency)
        self.in_transit = account(session, "payouts-in-transit", "liability", currency)
        self.pool = account(session, "revenue-pool", "asset", currency)
        self.participants = [
            account(session, f"participant-{i}", "liability", currency, owner_type="participant")
            for i in range(participants)
        ]

    def parties(self, bps, partner_bps=3000, fee_bps=2000):
        """Return the split for participant bps (in participant order)."""
        return split_parties(
            partner_account_id=self.commission,
            partner_bps=partner_bps,
            platform_account_id=self.fees,
            platform_fee_bps=fee_bps,
            participants=list(zip(self.participants, bps, strict=False)),
        )

    def ref(self, key):
        """The int ref of a named event (the same name, the same ref)."""
        return self.refs.setdefault(key, len(self.refs) + 1)

    def unlock(
        self, key, gross, parties, bucket="b1", at=T0, hold_days=7, debit=None, **attributes
    ):
        """Return an AllocationEvent for an unlock (or a negative event when gross < 0)."""
        return AllocationEvent(
            ref=self.ref(key),
            bucket_key=bucket,
            currency=self.currency,
            debit_account_id=debit or self.receivable,
            parties=parties,
            gross=gross,
            effective_at=at,
            available_at=at + timedelta(days=hold_days) if hold_days is not None else None,
            attributes=attributes,
        )

    def refund(self, original, key, at=None):
        """Return the refund of an unlock: its whole gross back, in its bucket, same hold."""
        return replace(
            original,
            ref=self.ref(key),
            gross=-original.gross,
            effective_at=at or original.effective_at,
            attributes={**original.attributes, "kind": "refund"},
            reverses=original.ref,
        )
