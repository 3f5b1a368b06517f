"""Fixtures for the partner API: a partner app with a key, a live series with a split."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.test import EnvironBuilder

from marketplace.ingest.api.auth import signature_header_v2
from marketplace.ingest.poster import post_pending
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import create_partner
from marketplace.splits.models import SplitShare, SplitVersion, TeamMember
from marketplace.studio.models import Episode, Listing, Series

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
"""When the demo series went live (a few days ago, so 'now' is inside its listing)."""


@dataclass
class Partner:
    """A partner app with its key, and a signed client for it."""

    app: PartnerApp
    key_id: str
    secret: str
    client: object
    poster: object = None

    def request(
        self,
        method,
        path,
        payload=None,
        *,
        secret=None,
        timestamp=None,
        body=None,
        key_id=None,
        headers=None,
        post=True,
    ):
        """Send a request signed with v2 (payload as JSON, or a raw body); then, unless
        post=False, run the ledger poster as its own process would, so the ledger holds what
        was accepted."""
        raw = (
            body if body is not None else (b"" if payload is None else json.dumps(payload).encode())
        )
        stamp = str(int(time.time())) if timestamp is None else str(timestamp)
        response = send_signed(
            self.client, key_id or self.key_id, secret or self.secret, method, path, raw,
            stamp=stamp, headers=headers,
        )  # fmt: skip
        if post and self.poster is not None:
            self.poster()
        return response

    def post(self, path, payload, **kw):
        """A signed POST."""
        return self.request("POST", path, payload, **kw)

    def get(self, path, **kw):
        """A signed GET."""
        return self.request("GET", path, **kw)


def v2_header(secret, stamp, method, path, body=b""):
    """The v2 X-Cliffhanger-Signature for a request to `path` (query string included), over the
    path and query the server will see (werkzeug's test client encodes them as a server would)."""
    environ = EnvironBuilder(path=path, method=method).get_environ()
    seen_path = environ["PATH_INFO"].encode("latin-1").decode("utf-8", "replace")
    query = environ["QUERY_STRING"].encode("latin-1")
    return signature_header_v2(secret, stamp, method, seen_path, query, body)


def send_signed(client, key_id, secret, method, path, body=b"", *, stamp=None, headers=None):
    """Send `body` to `path` signed with v2 as a partner app would."""
    stamp = str(int(time.time())) if stamp is None else stamp
    sent = {
        "X-Cliffhanger-Key": key_id,
        "X-Cliffhanger-Timestamp": stamp,
        "X-Cliffhanger-Signature": v2_header(secret, stamp, method, path, body),
        "Content-Type": "application/json",
    }
    sent.update(headers or {})
    return client.open(path, method=method, data=body, headers=sent)


@pytest.fixture
def make_partner(db, client):
    """Factory: a partner app (USD, 30 %, 7 days hold) and its signed client."""
    counter = iter(range(1, 1000))

    def make(name=None, currency="USD", share_bps=3000, hold_days=7):
        partner, key_id, secret = create_partner(
            db.session,
            name=name or f"Partner {next(counter)}",
            currency=currency,
            share_bps=share_bps,
            hold_days=hold_days,
        )
        return Partner(partner, key_id, secret, client, lambda: post_pending(db.session()))

    return make


@pytest.fixture
def make_live_series(db, make_creator):
    """Factory: a published series with N episodes (first `free` free), listed on a partner
    since T0, with a split (50/30/20 % among three members) in force since T0."""

    def make(
        partner: PartnerApp,
        episodes=10,
        free=2,
        price=49,
        shares=(5000, 3000, 2000),
        live_at=T0,
        title="Vows",
    ):
        owner = make_creator()
        series = Series(
            owner_id=owner.id,
            title=title,
            episode_price=price,
            currency="USD",
            status="published",
            free_episodes=free,
        )
        db.session.add(series)
        db.session.flush()
        series.episodes = [
            Episode(
                number=n,
                title=f"Ep {n}",
                duration_seconds=80,
                media_url=f"https://cdn.example.test/{series.id}/{n}.mp4",
            )
            for n in range(1, episodes + 1)
        ]
        members = [
            TeamMember(
                series_id=series.id,
                email=f"m{i}-{series.id}@example.test",
                credit_name=f"M{i}",
                role="actor",
            )
            for i in range(len(shares))
        ]
        db.session.add_all(members)
        db.session.flush()
        version = SplitVersion(
            series_id=series.id,
            number=1,
            platform_fee_bps=1000,
            effective_from=T0 - timedelta(days=1),
        )
        version.shares = [
            SplitShare(member_id=m.id, bps=b) for m, b in zip(members, shares, strict=True)
        ]
        db.session.add_all(
            [version, Listing(series_id=series.id, partner_id=partner.id, live_at=live_at)]
        )
        db.session.flush()
        return series

    return make


def unlock(event_id, series, episode=5, amount=49, **extra):
    """An unlock event body."""
    body = {
        "id": event_id,
        "series_id": series.id,
        "episode": episode,
        "amount": amount,
        "currency": "USD",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    body.update(extra)
    return body
