"""On PostgreSQL an idle shard's cursor follows the horizon, so its polls stop rescanning the
other shards' events; an event that arrives in it later is still posted, once."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, text

from marketplace.ingest.models import PosterCursor
from marketplace.ingest.poster import SHARDS, post_pending
from tests.api.conftest import unlock
from tests.api.test_unlocks import codes

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the horizon and transaction ids are PostgreSQL's",
)


def test_an_idle_shard_follows_the_horizon_and_still_posts_what_arrives(
    db, make_partner, make_live_series
):
    busy = make_partner()
    series = make_live_series(busy.app)
    events = [unlock(f"b{i}", series) for i in range(5)]
    assert set(codes(busy.post("/api/v1/unlocks", {"events": events}, post=False))) == {
        "accepted"
    }
    db.session.execute(
        PosterCursor.__table__.update().values(txid=0, event_id=0)
    )  # as after the migration: every shard at the start
    assert post_pending(db.session()).events == 5
    cursors = dict(db.session.execute(select(PosterCursor.shard, PosterCursor.txid)).all())
    own = db.session.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
    idle = [s for s in range(SHARDS) if s != busy.app.id % SHARDS]
    # The idle shards moved up to just below this (still running) transaction.
    assert all(cursors[s] == own - 1 for s in idle)
    # A partner app in an idle shard: its events (this transaction's) are after the cursor.
    quiet = make_partner()
    while quiet.app.id % SHARDS == busy.app.id % SHARDS:
        quiet = make_partner()
    other = make_live_series(quiet.app)
    late = [unlock(f"q{i}", other) for i in range(3)]
    assert set(codes(quiet.post("/api/v1/unlocks", {"events": late}, post=False))) == {
        "accepted"
    }
    assert post_pending(db.session()).events == 3
    assert post_pending(db.session()).events == 0
    status = quiet.get("/api/v1/events/q1", post=False).get_json()["ledger"]
    assert status["status"] == "posted" and len(status["entry_ids"]) == 1
