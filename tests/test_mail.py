"""Mail delivery over real SMTP (a local aiosmtpd server): sent once, kept queued while the
server is down and sent when it is back, refused messages retried with backoff and
dead-lettered, header values stripped of CR/LF, people's opt-outs honoured, and delivery
at-least-once across a kill -9 between the send and its mark (the copy has the same
Message-ID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from marketplace import create_app
from marketplace.demo.smtp import LocalSMTP, free_port
from marketplace.extensions import db as _db
from marketplace.mail import (
    OutboxMessage,
    deliver_pending,
    queue_mail,
    requeue_message,
    set_mail_preferences,
)
from tests.test_migrations import flask_db
from tests.test_migrations import fresh_url as fresh_url  # a fixture, for the kill test

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 5, 4, 9, tzinfo=UTC)


def queue(db, to="ann@example.test", subject="Hello", kind="payout.paid", **extra):
    message = queue_mail(db.session, to=to, subject=subject, body="Body\n", kind=kind, **extra)
    db.session.commit()
    return message


def test_queued_mail_is_sent_once_with_its_message_id(db, mail_to):
    message = queue(db)
    assert deliver_pending(db.session, now=T0) == 1
    assert deliver_pending(db.session, now=T0 + timedelta(minutes=1)) == 0
    [received] = mail_to.inbox.received()
    assert (received["To"], received["Subject"]) == ("ann@example.test", "Hello")
    assert received["Message-ID"] == message.message_id
    assert (message.status, message.sent_at) == ("sent", T0)


def test_without_a_server_mail_waits_and_goes_out_when_it_is_back(app, db):
    port = free_port()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    try:
        message = queue(db)
        assert deliver_pending(db.session, now=T0) == 0  # connection refused
        assert (message.status, message.attempts) == ("queued", 0)  # not the message's fault
        server = LocalSMTP(port).start()
        try:
            assert deliver_pending(db.session, now=T0 + timedelta(minutes=1)) == 1
        finally:
            server.stop()
        assert [m["Subject"] for m in server.inbox.received()] == ["Hello"]
        assert message.status == "sent"
    finally:
        app.config.update(saved)


def test_header_values_cannot_add_headers(db, mail_to):
    queue(db, to="ann@example.test\r\nBcc: eve@evil.test",
          subject='"Love\r\nBcc: eve@evil.test" is live')  # fmt: skip
    assert deliver_pending(db.session, now=T0) == 1
    [received] = mail_to.inbox.received()
    assert received["Bcc"] is None
    assert received["Subject"] == '"Love Bcc: eve@evil.test" is live'
    assert "\n" not in received["To"]


def test_a_refused_message_is_retried_with_backoff_then_dead_lettered(
    app, db, client, login_as, make_admin, mail_to
):
    mail_to.inbox.refuse.add("gone@example.test")
    bad, good = queue(db, to="gone@example.test"), queue(db, subject="Fine")
    now, delays = T0, []
    for _ in range(app.config["MAIL_MAX_ATTEMPTS"]):
        deliver_pending(db.session, now=now)
        if bad.status == "dead":
            break
        delays.append(int((bad.next_attempt_at - now).total_seconds()))
        assert deliver_pending(db.session, now=now) == 0  # not due yet: not tried again
        now = bad.next_attempt_at
    assert good.status == "sent"  # one refused recipient never blocks the others
    assert delays == [60, 120, 240, 480, 960]
    assert (bad.status, bad.attempts) == ("dead", 6)
    assert "550" in bad.last_error

    login_as(make_admin())
    page = client.get("/admin/outbox?status=dead").get_data(as_text=True)
    assert "gone@example.test" in page and "dead" in page and "550" in page
    mail_to.inbox.refuse.clear()
    assert requeue_message(db.session, bad.id) is not None
    assert deliver_pending(db.session, now=now) == 1
    assert bad.status == "sent"


def test_non_essential_kinds_can_be_turned_off(db, client, login_as, make_participant, mail_to):
    user = login_as(make_participant(email="pia@example.test"))
    page = client.get("/auth/notifications").get_data(as_text=True)
    assert "A payout reached your bank" in page and "A payout failed" in page
    saved = client.post("/auth/notifications", data={"mail_payout_sent": "y"})
    assert saved.status_code == 302
    off = queue(db, to=user.email, kind="payout.paid")
    on = queue(db, to=user.email, kind="payout.sent", subject="Sent")
    essential = queue(db, to=user.email, kind="payout.failed", subject="Failed")
    assert (off.status, on.status, essential.status) == ("suppressed", "queued", "queued")
    deliver_pending(db.session, now=T0)
    assert sorted(m["Subject"] for m in mail_to.inbox.received()) == ["Failed", "Sent"]
    set_mail_preferences(db.session, user.email, {"payout.paid"})
    assert queue(db, to=user.email, kind="payout.paid").status == "queued"


def test_a_dedupe_key_queues_a_message_once(db):
    assert queue(db, dedupe_key="statement:1:2026-04") is not None
    assert queue(db, dedupe_key="statement:1:2026-04") is None


KILLED_SENDER = """
import os, signal, sys
from marketplace import create_app
from marketplace.extensions import db
from marketplace.mail import deliver_pending

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "MAIL_SERVER": "127.0.0.1",
                  "MAIL_PORT": int(sys.argv[2]), "MAIL_USE_TLS": False})
with app.app_context():
    # kill -9 of this process once the server took the message, before it is marked sent
    deliver_pending(
        db.session(), checkpoint=lambda point, mid: os.kill(os.getpid(), signal.SIGKILL)
    )
"""


def test_delivery_is_at_least_once_across_a_kill_between_send_and_mark(
    fresh_url,
    smtp_server,
    tmp_path,
):
    flask_db(fresh_url, "upgrade")
    sender = create_app({"SQLALCHEMY_DATABASE_URI": fresh_url, "TESTING": True,
                         "SECRET_KEY": "test", **smtp_server.config()})  # fmt: skip
    with sender.app_context():
        queue_mail(_db.session, to="kim@example.test", subject="Paid", body="x", kind="payout.paid")
        _db.session.commit()
    script = tmp_path / "sender.py"
    script.write_text(textwrap.dedent(KILLED_SENDER))
    killed = subprocess.run(
        [sys.executable, str(script), fresh_url, str(smtp_server.port)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=120,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    [first] = smtp_server.inbox.received()
    with sender.app_context():
        message = _db.session.scalars(select(OutboxMessage)).one()
        assert message.status == "queued"  # the mark never happened
        assert deliver_pending(_db.session()) == 1  # the next run sends it again
        assert _db.session.get(OutboxMessage, message.id).status == "sent"
        _db.engine.dispose()
    first_copy, second_copy = smtp_server.inbox.received()
    assert first_copy["Message-ID"] == second_copy["Message-ID"] == first["Message-ID"]
    assert first_copy["Subject"] == second_copy["Subject"] == "Paid"
