"""Acceptance 3 and 4 on PostgreSQL (row locks and unique indexes decide; SQLite has one
writer at a time, so these tests skip there): two schedulers building one period make one
batch, and two `flask payouts execute` processes on one batch pay each line once.

They need committed data seen by other connections and processes, so they run in a database
of their own (TEST_DATABASE_URL's name + "_concurrency"), rebuilt at the start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import stripe
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from ledger.reports.checks import check_ledger
from ledger.schema import Entry, create_database_guards
from marketplace import create_app
from marketplace.accounts.models import User
from marketplace.extensions import db as _db
from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.partners.models import PartnerApp
from marketplace.payouts.models import PayoutAccount, PayoutBatch, PayoutLine
from marketplace.payouts.sandbox.emulator import EmulatedStripe, EmulatorHTTPClient
from marketplace.payouts.services import approve_batch, record_platform_funding
from marketplace.scheduler.jobs import build_due_batch
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Series
from marketplace.tax.models import TaxProfile
from marketplace.tax.tin_vault import seal_tin
from tests.helpers import ref_of
from tests.payouts.support import AFTER_HOLD, T0, WEBHOOK_SECRET

BASE_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not BASE_URL.startswith("postgresql"),
        reason="needs PostgreSQL (TEST_DATABASE_URL): concurrency is decided by its locks",
    ),
]
ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 40


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A fresh committed database with MEMBERS paid-up participants, their onboarded
    accounts in a file-backed emulator, and a funded platform."""
    url = make_url(BASE_URL)
    own = url.set(database=f"{url.database}_concurrency")
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin_engine.dispose()
    emulator_path = tmp_path_factory.mktemp("stripe") / "emulator.sqlite3"
    app = create_app(
        {
            "CLIFFHANGER_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": own.render_as_string(hide_password=False),
            "STRIPE_EMULATOR_PATH": str(emulator_path),
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PAYOUT_MINIMUM": 1000,
            "PAYOUT_APPROVALS": 1,
        }
    )
    emulator = EmulatedStripe.file_backed(emulator_path)
    client = stripe.StripeClient(
        "sk_test_emulated", http_client=EmulatorHTTPClient(emulator), max_network_retries=0
    )
    with app.app_context():
        _db.metadata.create_all(_db.engine)
        with _db.engine.begin() as conn:
            create_database_guards(conn)
        session = _db.session
        owner = User(email="owner@example.com", role="creator", password_hash="x")
        admin = User(email="admin@example.com", role="admin", password_hash="x")
        partner = PartnerApp(name="P", currency="USD", share_bps=0, hold_days=7)
        session.add_all([owner, admin, partner])
        session.flush()
        series = Series(owner_id=owner.id, title="S", episode_price=49, currency="USD")
        session.add(series)
        session.flush()
        version = SplitVersion(
            series_id=series.id, number=1, platform_fee_bps=0, effective_from=T0 - timedelta(1)
        )
        for i in range(MEMBERS):
            user = User(email=f"p{i}@example.com", role="participant", password_hash="x")
            session.add(user)
            session.flush()
            member = TeamMember(
                series_id=series.id,
                email=user.email,
                credit_name=f"P{i}",
                role="actor",
                user_id=user.id,
                accepted_at=T0,
            )
            session.add(member)
            session.flush()
            version.shares.append(SplitShare(member_id=member.id, bps=10_000 // MEMBERS))
            account = client.v1.accounts.create(
                {"type": "express", "capabilities": {"transfers": {"requested": True}}}
            )
            emulator.complete_onboarding(account.id)
            session.add(
                PayoutAccount(
                    user_id=user.id,
                    stripe_account_id=account.id,
                    details_submitted=True,
                    payouts_enabled=True,
                )
            )
            session.add(
                TaxProfile(
                    user_id=user.id,
                    form="W-9",
                    legal_name=f"P{i}",
                    tin_type="SSN",
                    tin_encrypted=seal_tin("123456789"),
                    tin_last4="6789",
                    address="x",
                    address_country="US",
                    residence_country="US",
                    certified=True,
                    signed_name=f"P{i}",
                )
            )
        session.add(version)
        session.flush()
        post_revenue(
            session,
            partner,
            [RevenueFacts(ref_of(f"unlock:{partner.id}:big"), series.id, 4_000_000, T0)],
            now=T0,
        )
        session.commit()
        emulator.fund_platform(10_000_000, "usd")
        record_platform_funding(session, amount=10_000_000, currency="USD", reference="seed")
        admin_id = admin.id
        session.remove()
    yield app, own, emulator, client, admin_id
    with app.app_context():
        _db.engine.dispose()
    admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
    admin_engine.dispose()


def test_two_schedulers_building_one_period_make_one_batch(world):
    app, _, _, _, _ = world
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scheduler_job():
        try:
            barrier.wait()
            results.append(build_due_batch(app, now=AFTER_HOLD))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=scheduler_job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.created for r in results) == [False, True]
    with app.app_context():
        batches = _db.session.scalars(select(PayoutBatch)).all()
        assert [b.period_key for b in batches] == [AFTER_HOLD.date().isoformat()]
        lines = _db.session.scalar(select(func.count()).select_from(PayoutLine))
        assert lines == MEMBERS
        assert check_ledger(_db.session) == []
        _db.session.remove()


def test_two_execute_processes_on_one_batch_pay_each_line_once(world):
    app, url, _, client, admin_id = world
    batch_id = build_due_batch(app, now=AFTER_HOLD).batch.id
    with app.app_context():
        approve_batch(_db.session, batch_id, admin_id=admin_id)
        _db.session.remove()
    env = dict(
        os.environ,
        FLASK_APP="wsgi:app",
        CLIFFHANGER_ENV="testing",
        DATABASE_URL=url.render_as_string(hide_password=False),
        STRIPE_EMULATOR_PATH=app.config["STRIPE_EMULATOR_PATH"],
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_SECRET_KEY="",
    )
    command = [sys.executable, "-m", "flask", "payouts", "execute", str(batch_id)]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]
        reports.append(json.loads(out))
    sent = [set(report["sent"]) for report in reports]
    print("lines recorded per process:", [len(s) for s in sent])
    assert not sent[0] & sent[1]  # no line recorded by both

    with app.app_context():
        lines = _db.session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch_id))
        lines = lines.all()
        assert len(lines) == MEMBERS and {line.status for line in lines} == {"sent"}
        assert len(sent[0] | sent[1]) == MEMBERS
        for line in lines:
            transfers = client.v1.transfers.list({"destination": line.destination}).data
            assert [t.id for t in transfers] == [line.transfer_id]
        keys = [f"payout:line:{line.id}:transfer" for line in lines]
        entries = _db.session.scalar(
            select(func.count()).select_from(Entry).where(Entry.idempotency_key.in_(keys))
        )
        assert entries == MEMBERS
        assert check_ledger(_db.session) == []
        _db.session.remove()


def test_two_admins_approving_at_once_approve_a_two_approval_batch(world):
    app, _, _, _, admin_id = world
    with app.app_context():
        second = User(email="second-admin@example.com", role="admin", password_hash="x")
        _db.session.add(second)
        _db.session.commit()
        admins = [admin_id, second.id]
        _db.session.remove()
    for attempt in range(5):
        with app.app_context():
            batch = PayoutBatch(period_key=f"two-approvals-{attempt}", as_of=AFTER_HOLD,
                                approvals_required=2)  # fmt: skip
            _db.session.add(batch)
            _db.session.commit()
            batch_id = batch.id
            _db.session.remove()
        barrier = threading.Barrier(2)
        errors = []

        def approve(who, batch_id=batch_id, barrier=barrier, errors=errors):
            with app.app_context():
                try:
                    barrier.wait()
                    approve_batch(_db.session(), batch_id, admin_id=who)
                except Exception as error:  # pragma: no cover - reported below
                    errors.append(error)
                finally:
                    _db.session.remove()

        threads = [threading.Thread(target=approve, args=(who,)) for who in admins]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with app.app_context():
            batch = _db.session.get(PayoutBatch, batch_id)
            assert (batch.status, len(batch.approvals)) == ("approved", 2), attempt
            _db.session.remove()
