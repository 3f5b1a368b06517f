"""A generated report with seeded differences: the reconciliation names every one of them and
nothing else (the small version of bench/reconcile.py)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.ingest.refunds import RefundIn, ingest_refunds
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.reconciliation.models import ReconciliationLine
from marketplace.reconciliation.reports import reconcile_report
from tests.reconciliation.conftest import PERIOD, at, report

EVENTS = 120


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seeded_differences_are_named_exactly(db, make_world, seed):
    rng = random.Random(seed)
    world = make_world()
    when = {n: at(1 + n % 28, hour=n % 24) for n in range(EVENTS)}
    episodes = {n: 3 + n % 8 for n in range(EVENTS)}
    unlocks = [UnlockIn(f"g{n}", world.series.id, episodes[n], 49, "USD", when[n])
               for n in range(EVENTS)]  # fmt: skip
    assert {r["status"] for r in ingest_unlocks(db.session(), world.partner, unlocks)} == {
        "accepted"
    }
    refunded = rng.sample(range(EVENTS), 10)
    refunds = [RefundIn(f"r{n}", f"g{n}", when[n] + timedelta(minutes=5)) for n in refunded]
    ingest_refunds(db.session(), world.partner, refunds)

    lines = [(f"g{n}", episodes[n], 49, "USD", when[n]) for n in range(EVENTS)]
    lines += [(f"r{n}", episodes[n], -49, "USD", when[n] + timedelta(minutes=5)) for n in refunded]
    rng.shuffle(lines)
    expected = set()
    kinds = ["amount_differs", "currency_differs", "date_differs", "only_ours", "matched"]
    out = []
    for event_id, episode, amount, currency, moment in lines:
        kind = rng.choices(kinds, weights=[1, 1, 1, 1, 12])[0]
        if kind == "only_ours":
            expected.add((kind, event_id))
            continue
        if kind == "amount_differs":
            amount += rng.choice([-1, 1, 100])
        elif kind == "currency_differs":
            currency = rng.choice(["EUR", "GBP"])
        elif kind == "date_differs":
            moment += timedelta(seconds=rng.choice([-1, 1, 86400]))
        if kind != "matched":
            expected.add((kind, event_id))
        out.append(world.line(event_id, amount=amount, when=moment, currency=currency,
                              episode=episode))  # fmt: skip
    for j in range(rng.randint(1, 5)):
        out.append(world.line(f"extra-{j}", when=at(15)))
        expected.add(("only_theirs", f"extra-{j}"))
    rep = reconcile_report(
        db.session(), world.partner, PERIOD, report(*out), limit=1 << 20, source="cli"
    )
    named = set(
        db.session.execute(
            select(ReconciliationLine.kind, ReconciliationLine.event_id).where(
                ReconciliationLine.report_id == rep.id
            )
        ).tuples()
    )
    assert named == expected
    assert rep.matched == len(out) - len([k for k in expected if k[0] != "only_ours"])
