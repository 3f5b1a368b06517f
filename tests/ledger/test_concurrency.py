"""Concurrent writers on overlapping accounts: no deadlock, no overdraft, serial-equivalent."""

import random
import threading
import time
from datetime import timedelta

from sqlalchemy.orm import Session

from ledger.allocation.engine import allocate_batch
from ledger.balances import get_balances
from ledger.errors import InsufficientFunds
from ledger.posting import Leg, post_entry
from ledger.reports.checks import check_ledger
from tests.ledger.conftest import ledger_engine, needs_postgres
from tests.ledger.factories import T0, World, account

THREADS = 8
BATCHES = 12


def setup(session):
    world = World(session, participants=4)
    wallet = account(session, "wallet", "liability", must_not_go_negative=True)
    world.participants.append(wallet)
    splits = [
        world.parties(bps) for bps in ([4000, 3000, 2000, 0, 1000], [0, 2000, 3000, 4000, 1000])
    ]
    return world, wallet, splits


def events_for(world, splits, thread, rng):
    batches = []
    for b in range(BATCHES):
        batch = []
        for n in range(rng.randint(5, 30)):
            split = rng.randrange(len(splits))
            batch.append(
                world.unlock(
                    f"t{thread}-{b}-{n}",
                    rng.randint(1, 500),
                    splits[split],
                    bucket=f"bucket-{split}-{rng.randrange(3)}",
                    at=T0 + timedelta(minutes=b),
                    hold_days=None,
                )
            )
        batches.append(batch)
    return batches


@needs_postgres
def test_concurrent_writers_and_payouts(committing_engine, tmp_path):
    with Session(committing_engine) as session:
        world, wallet, splits = setup(session)
        session.commit()
    work = [events_for(world, splits, t, random.Random(t)) for t in range(THREADS)]
    payouts, errors = [], []

    def writer(batches):
        try:
            with Session(committing_engine) as session:
                for batch in batches:
                    allocate_batch(session, batch)
                    session.commit()
        except Exception as error:
            errors.append(error)

    def payer():
        try:
            with Session(committing_engine) as session:
                # Start paying once the writers' first money is committed (bounded wait):
                # otherwise all 60 attempts can finish before any batch commits.
                deadline = time.monotonic() + 60
                while get_balances(session, [wallet])[wallet].posted < 40:
                    session.rollback()
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
                for n in range(60):
                    try:
                        post_entry(
                            session,
                            idempotency_key=f"payout-{n}",
                            effective_at=T0,
                            description="payout",
                            metadata={"kind": "payout"},
                            legs=[Leg(wallet, 40), Leg(world.in_transit, -40)],
                        )
                        session.commit()
                        payouts.append(n)
                    except InsufficientFunds:
                        session.rollback()
                    assert get_balances(session, [wallet])[wallet].posted >= 0
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(w,)) for w in work]
    threads.append(threading.Thread(target=payer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert payouts, "the payout thread never found money to pay out"

    accounts = [
        world.receivable,
        world.commission,
        world.fees,
        world.in_transit,
        *world.participants,
    ]
    with Session(committing_engine) as session:
        assert check_ledger(session) == []
        concurrent = get_balances(session, accounts)
    assert concurrent[wallet].posted >= 0

    with ledger_engine(tmp_path) as serial_engine, Session(serial_engine) as session:
        world2, wallet2, _ = setup(session)
        assert (world2.receivable, wallet2) == (world.receivable, wallet)
        for batches in work:
            for batch in batches:
                allocate_batch(session, batch)
        for n in payouts:
            post_entry(
                session,
                idempotency_key=f"payout-{n}",
                effective_at=T0,
                description="payout",
                metadata={"kind": "payout"},
                legs=[Leg(wallet, 40), Leg(world.in_transit, -40)],
            )
        session.commit()
        serial = get_balances(session, accounts)
    assert {k: v.posted for k, v in serial.items()} == {k: v.posted for k, v in concurrent.items()}
