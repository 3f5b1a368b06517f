"""Random streams of unlocks, refunds, revenue-pool allocations, split changes (new buckets)
and payouts keep every invariant."""

from collections import defaultdict
from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ledger.allocation.engine import DENOMINATOR, allocate_batch
from ledger.balances import get_balances
from ledger.posting import Leg, post_entry
from ledger.reports.checks import check_ledger
from ledger.schema import AllocationBucket, Posting
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
    """Apply the stream; return every allocation event sent and each one's money, by ref."""
    usd, _, buckets = build(session)
    sent, pending, unlocks, clock, paid = [], [], [], T0, {}
    refunded = set()

    def post(events):
        for event, result in zip(events, allocate_batch(session, events, now=clock), strict=True):
            assert result.ref == event.ref
            paid[event.bucket_key, event.ref] = result.amounts
        sent.extend(events)

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
            unlocks.append((world, event))
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
            world, original = unlocks[op[1] % len(unlocks)]
            if original.ref not in refunded:
                refunded.add(original.ref)
                pending.append(world.refund(original, f"r{n}", at=clock))
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
            post(pending)
            pending = []
    if pending:
        post(pending)
    return sent, paid


def balances(session):
    ids = [row[0] for row in session.execute(select(Posting.account_id).distinct())]
    return get_balances(session, ids, T0 + timedelta(days=3))


@given(stream=streams)
def test_streams_keep_every_invariant(engine, stream):
    with rolled_back(engine) as session:
        sent, paid = run_stream(session, stream)
        session.flush()
        # Every entry balances, so all postings sum to zero per currency.
        sums = session.execute(
            select(Posting.currency, func.sum(Posting.amount)).group_by(Posting.currency)
        ).all()
        assert all(total == 0 for _, total in sums)
        # Maintained balances, pending rows, runs and buckets equal what the postings say.
        assert check_ledger(session) == []
        # A refund gives back exactly what its unlock paid each party.
        for event in sent:
            if event.reverses is not None:
                original = paid[event.bucket_key, event.reverses]
                assert paid[event.bucket_key, event.ref] == tuple(-a for a in original)
        assert_drift_bounded(session, sent)


def assert_drift_bounded(session, sent):
    """Each party's money from a bucket is within one unit of its exact cumulative share after
    an event that is not a refund; k refunds after it, within 1 + 2k (within 2 for one)."""
    trailing = defaultdict(int)
    for event in sent:
        trailing[event.bucket_key] = trailing[event.bucket_key] + 1 if event.reverses else 0
    for bucket in session.scalars(select(AllocationBucket)):
        refunds = trailing[bucket.key]
        bound = 1 if refunds == 0 else 2 if refunds == 1 else 1 + 2 * refunds
        for account_id, weight, _ in bucket.parties:
            exact = Fraction(bucket.cumulative_gross * weight, DENOMINATOR)
            assert abs(bucket.allocated.get(str(account_id), 0) - exact) < bound


def test_replaying_a_batch_is_refused(engine):
    """The ledger keeps no row per event: the caller posts each event once (the poster's
    cursor); a replayed batch is refused by its entries' idempotency keys, changing nothing."""
    with rolled_back(engine) as session:
        world = World(session)
        parties = world.parties([5000, 3000, 2000])
        events = [world.unlock(f"e{n}", 99 + n, parties) for n in range(3)]
        allocate_batch(session, events)
        session.flush()
        before = balances(session)
        with pytest.raises(IntegrityError), session.begin_nested():
            allocate_batch(session, events)
        assert balances(session) == before
        assert check_ledger(session) == []
