"""A batch's reservation entries: their content hashes are the ledger's own (content_hash of
what the entry holds), although the build formats them without json.dumps per entry."""

from __future__ import annotations

from sqlalchemy import select

from ledger.posting import content_hash
from ledger.reports.checks import check_ledger
from ledger.schema import Entry, Posting
from marketplace.payouts.batches import build_batch
from marketplace.payouts.models import PayoutLine
from marketplace.payouts.reservations import reservation_key
from tests.payouts.support import AFTER_HOLD


def test_reservation_entries_hash_their_content_as_the_ledger_does(
    db, earn, connect, make_participant
):
    two = make_participant(email='two"\\memberships@example.test')
    earn(two, gross=3_000)
    earn(two, gross=2_500)
    one = make_participant(email="one@example.test")
    earn(one, gross=12_345)
    connect(two)
    connect(one)

    batch = build_batch(db.session, as_of=AFTER_HOLD).batch
    lines = db.session.scalars(
        select(PayoutLine).where(PayoutLine.batch_id == batch.id).order_by(PayoutLine.id)
    ).all()
    assert [(line.payee, line.amount, line.status) for line in lines] == [
        ('two"\\memberships@example.test', 5_500, "proposed"),
        ("one@example.test", 12_345, "proposed"),
    ]
    for line in lines:
        entry = db.session.get_one(Entry, line.reservation_entry_id)
        postings = db.session.scalars(select(Posting).where(Posting.entry_id == entry.id)).all()
        assert entry.idempotency_key == reservation_key(line.id)
        assert entry.description.endswith(f"reserve line {line.id}")
        assert entry.meta == {
            "kind": "payout",
            "batch_id": batch.id,
            "line_id": line.id,
            "user_id": line.user_id,
        }
        assert sorted(p.amount for p in postings) == (
            [-line.amount, 2_500, 3_000] if line.payee.startswith("two") else [-12_345, 12_345]
        )
        assert entry.content_hash == content_hash(
            effective_at=entry.effective_at,
            description=entry.description,
            metadata=entry.meta,
            reverses=None,
            legs=sorted([p.account_id, p.amount, None] for p in postings),
        )
    assert check_ledger(db.session) == []
