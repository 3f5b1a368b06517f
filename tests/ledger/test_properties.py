"""Random streams of unlocks, refunds, revenue-pool allocations, split changes (new buckets)
and payouts keep every invariant."""

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger.allocation.engine import DENOMINATOR, allocate_batch
from ledger.balances import get_balances
from ledger.posting import Leg, post_entry
from ledger.reports.checks import check_ledger
from ledger.schema import AllocationBucket, AllocationEventRow, Posting
from tests.ledger.conftest import rolled_back
from tests.ledger.factories import T0, World

unlock = st.tuples(
    st.just("unlock"),
    st.integers(0, 3),
    st.integers(1, 999),
    st.integers(0, 600),
    st.sampled_from([None, 0, 3, 7]),
)
refund = st.tuples(st.just("refund"), st.integers(0, 10**6))
payout = st.tuples(st.just("payout"), st.integers(0, 2), st.integers(1, 3000))
# A revenue pool (subscriptions) paid out to a series by its share of watch time.
pool = st.tuples(st.just("pool"), st.integers(1, 10**7))
batch_end = st.tuples(st.just("commit"))
streams = st.lists(st.one_of(unlock, unlock, unlock, refund, payout, pool, batch_end), max_size=32)


def build(session):
    usd, jpy = World(session, "USD"), World(session, "JPY")
    # Buckets 0 and 1 are two split versions of one series; 2 another series; 3 is in yen.
    buckets = [
        (usd, "series:1|v1", usd.parties([5000, 3000, 2000])),
        (usd, "series:1|v2", usd.parties([3334, 3333, 3333], partner_bps=2500)),
        (usd, "series:2|v1", usd.parties([10000, 0, 0], fee_bps=0)),
        (jpy, "series:3|v1", jpy.parties([6000, 4000])),
        (usd, "pool:2025-01|series:1", usd.parties([5000, 3000, 2000], partner_bps=0)),
    ]
    return usd, jpy, buckets


def run_stream(session, stream):
    """Apply the stream; return every allocation event sent, in order."""
    usd, _, buckets = build(session)
    sent, pending, unlocks, clock = [], [], [], T0
    for n, op in enumerate(stream):
        if op[0] == "unlock":
            world, key, parties = buckets[op[1]]
            clock += timedelta(minutes=op[3])
            event = world.unlock(
                f"u{n}",
                op[2],
                parties,
                bucket=key,
                at=clock,
                hold_days=op[4],
                series_id=op[1],
                episode=n % 5,
                partner_id=1,
                country="FR",
            )
            pending.append(event)
            unlocks.append(event)
        elif op[0] == "pool":
            pending.append(
                usd.unlock(
                    f"pool{n}",
                    op[1],
                    buckets[4][2],
                    bucket=buckets[4][1],
                    at=clock,
                    debit=usd.pool,
                    pool="2025-01",
                    series_id=1,
                )
            )
        elif op[0] == "refund" and unlocks:
            original = unlocks[op[1] % len(unlocks)]
            pending.append(
                replace(original, source_key=f"r{n}", gross=-original.gross, effective_at=clock)
            )
        elif op[0] == "payout":
            post_entry(
                session,
                idempotency_key=f"payout{n}",
                effective_at=clock,
                description="payout",
                legs=[Leg(usd.participants[op[1]], op[2]), Leg(usd.in_transit, -op[2])],
                metadata={"kind": "payout"},
                now=clock,
            )
        elif op[0] == "commit" and pending:
            assert {r.status for r in allocate_batch(session, pending, now=clock)} == {"applied"}
            sent += pending
            pending = []
    if pending:
        allocate_batch(session, pending, now=clock)
        sent += pending
    return sent


def balances(session):
    ids = [row[0] for row in session.execute(select(Posting.account_id).distinct())]
    return get_balances(session, ids, T0 + timedelta(days=3))


@given(stream=streams, cut=st.integers(0, 10**6))
def test_streams_keep_every_invariant(engine, stream, cut):
    with rolled_back(engine) as session:
        sent = run_stream(session, stream)
        session.flush()
        # Every entry balances, so all postings sum to zero per currency.
        sums = session.execute(
            select(Posting.currency, func.sum(Posting.amount)).group_by(Posting.currency)
        ).all()
        assert all(total == 0 for _, total in sums)
        # Maintained balances, pending rows and buckets equal what the postings say.
        assert check_ledger(session) == []
        assert_no_drift(session)
        # Replaying any prefix changes nothing.
        before = balances(session)
        prefix = sent[: cut % (len(sent) + 1)]
        results = allocate_batch(session, prefix)
        assert {r.status for r in results} <= {"duplicate"}
        assert balances(session) == before


def assert_no_drift(session):
    """Each party's money from a bucket is within one unit of its exact cumulative share."""
    credited = defaultdict(int)
    for bucket_id, account_id, amount in session.execute(
        select(AllocationEventRow.bucket_id, Posting.account_id, func.sum(Posting.amount))
        .join(Posting, Posting.entry_id == AllocationEventRow.entry_id)
        .where(
            AllocationEventRow.id.in_(
                select(func.min(AllocationEventRow.id)).group_by(AllocationEventRow.entry_id)
            )
        )
        .group_by(AllocationEventRow.bucket_id, Posting.account_id)
    ):
        credited[bucket_id, account_id] = -int(amount)
    for bucket in session.scalars(select(AllocationBucket)):
        for account_id, weight, _ in bucket.parties:
            exact = Fraction(bucket.cumulative_gross * weight, DENOMINATOR)
            assert abs(credited[bucket.id, account_id] - exact) < 1
