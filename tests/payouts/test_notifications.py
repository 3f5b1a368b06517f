"""Acceptance 3: every notification reaches a real SMTP server (aiosmtpd) exactly once, even
when what caused it happens again (a webhook redelivered, a batch built twice, the monthly
job run twice): invitation, split changed, payout sent, paid and failed, action required,
statement ready."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select

from marketplace.earnings.notices import notify_statements_ready
from marketplace.mail import OutboxMessage, deliver_pending
from marketplace.payouts.models import PayoutLine
from marketplace.splits.services import save_split
from marketplace.studio.models import Series
from tests.payouts.support import AFTER_HOLD, T0, deliver_events


def test_each_notification_is_received_once(
    db, client, runner, login_as, gateway, emulator, earn, connect, fund, make_participant,
    make_creator, make_admin, mail_to,
):  # fmt: skip
    admin = make_admin(email="boss@example.com")
    fund(1_000_000, "USD")
    paid_one, failed_one, untaxed = (
        make_participant(email=f"{n}@example.test") for n in ("paid", "failed", "untaxed")
    )
    for user in (paid_one, failed_one, untaxed):
        earn(user, gross=20_000)
        connect(user, tax=user is not untaxed)

    # Invitation, then a change of the split: the accepted member hears of it.
    creator = make_creator(email="maker@example.com")
    series = Series(owner_id=creator.id, title="Hearts\r\nBcc: eve@evil.test", episode_price=49)
    db.session.add(series)
    db.session.flush()
    rows = [{"user": paid_one, "email": paid_one.email, "role": "actor",
             "credit_name": "Paid One", "bps": 6000},
            {"email": "newbie@example.com", "role": "writer", "credit_name": "Newbie",
             "bps": 4000}]  # fmt: skip
    save_split(db.session, series, creator, rows, platform_fee_bps=1000, now=T0)
    rows[0]["bps"], rows[1]["bps"] = 5000, 5000
    save_split(db.session, series, creator, rows, platform_fee_bps=1000, now=T0 + timedelta(1))

    for _ in range(2):  # the second build finds the period's batch: no second mail
        built = runner.invoke(args=["payouts", "build", "--as-of", AFTER_HOLD.isoformat()])
    batch_id = json.loads(built.output)["batch"]
    runner.invoke(args=["payouts", "approve", str(batch_id), "--by", admin.email])
    runner.invoke(args=["payouts", "execute", str(batch_id)])
    lines = {ln.payee: ln for ln in db.session.scalars(select(PayoutLine))}
    emulator.settle_payout(lines["paid@example.test"].bank_payout_id, paid=True)
    emulator.settle_payout(lines["failed@example.test"].bank_payout_id, paid=False)
    events = emulator.pending_events()
    deliver_events(client, emulator)
    for event in events:  # Stripe delivers some events twice
        body, header = emulator.signed_payload(event, gateway.webhook_secret)
        client.post("/stripe/webhook", data=body, headers={"Stripe-Signature": header})

    for _ in range(2):
        notify_statements_ready(db.session, date(2026, 10, 1))

    assert deliver_pending(db.session) > 0
    assert deliver_pending(db.session) == 0
    received = Counter((m["To"], m["Subject"]) for m in mail_to.inbox.received())
    assert set(received.values()) == {1}, received
    kinds = Counter((m.to_address, m.kind) for m in db.session.scalars(select(OutboxMessage)))
    assert set(kinds.values()) == {1}
    assert set(kinds) >= {
        ("newbie@example.com", "invitation"),
        ("paid@example.test", "split.changed"),
        ("paid@example.test", "payout.sent"),
        ("paid@example.test", "payout.paid"),
        ("failed@example.test", "payout.sent"),
        ("failed@example.test", "payout.failed"),
        ("untaxed@example.test", "action.required"),
        ("paid@example.test", "statement.ready"),
    }
    assert ("maker@example.com", "split.changed") not in kinds  # who made the change
    assert len(mail_to.inbox.received()) == len(kinds)
    for message in mail_to.inbox.received():
        assert message["Bcc"] is None
    action = next(m for m in mail_to.inbox.received() if m["To"] == "untaxed@example.test")
    assert "W-9" in action.get_content() and "http://localhost/payouts/" in action.get_content()
