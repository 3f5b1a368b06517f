"""What the browser journeys share: logging in, a small real MP4, a signed partner client, and
the few records a journey starts from (made through the real services, committed for real)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.accounts.services import register_user
from marketplace.extensions import db
from marketplace.partners.models import PartnerApp
from marketplace.publishing.services import publish_series
from marketplace.splits.services import save_split
from marketplace.studio.models import Series
from marketplace.studio.series import add_episode, create_series, set_pricing
from tests.media import video

PASSWORD = "a good long password"
PLATFORM_FEE_BPS = 1000


_USED_NAMES: set[str] = set()


def unique_email(name: str) -> str:
    """A fresh, readable address (journeys share one live database per test session):
    sol@example.com, then sol2@example.com, ..."""
    local, number = name, 1
    while local in _USED_NAMES:
        number += 1
        local = f"{name}{number}"
    _USED_NAMES.add(local)
    return f"{local}@example.org"


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the login page, as a person would, and wait until it says so."""
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()


def small_mp4() -> bytes:
    """A real 3-second vertical MP4 of about 3 MB (noise compresses badly), so an upload on a
    slow uplink shows a few progress events; made by ffmpeg (tests/media.py)."""
    return video("mp4", 360, 640, 3, noise=True)


@dataclass
class SignedPartner:
    """A partner app's side of the API: its key, and signed requests to the live server."""

    app_id: int
    name: str
    key_id: str
    secret: str
    base_url: str
    poster: Callable[[], None] | None = None

    def post(self, path: str, payload: dict) -> tuple[int, dict]:
        """POST JSON to /api/v1<path>, signed as docs/api.md says; (status, parsed body)."""
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        signed = f"{stamp}\nPOST\n/api/v1{path}\n\n".encode() + body
        signature = "v2=" + hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"{self.base_url}/api/v1{path}",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Cliffhanger-Key": self.key_id,
                "X-Cliffhanger-Timestamp": stamp,
                "X-Cliffhanger-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def unlock(
        self, series_id: int, unlocks: list[tuple[int, int, datetime]], currency: str = "USD"
    ) -> list[dict]:
        """Report paid unlocks [(episode, amount, occurred_at)]; every one must be accepted."""
        events = [
            {
                "id": f"unlock-{uuid.uuid4().hex}",
                "series_id": series_id,
                "episode": episode,
                "amount": amount,
                "currency": currency,
                "occurred_at": occurred_at.isoformat(),
                "country": "US",
            }
            for episode, amount, occurred_at in unlocks
        ]
        status, body = self.post("/unlocks", {"events": events})
        assert status == 200, body
        refused = [r for r in body["results"] if r["status"] != "accepted"]
        assert refused == [], refused[:3]
        if self.poster is not None:  # the ledger poster's process, as it runs beside the site
            self.poster()
        return body["results"]


def make_account(session: Session, role: str, name: str, display_name: str = "") -> User:
    """A registered account (as if signed up earlier) with PASSWORD and a fresh email."""
    return register_user(
        session,
        email=unique_email(name),
        password=PASSWORD,
        role=role,
        display_name=display_name or name.title(),
    )


def published_series(
    session: Session,
    owner: User,
    partner_id: int,
    split: list[dict],
    *,
    title: str,
    episodes: int = 6,
    free: int = 2,
    price: int = 49,
    since: datetime | None = None,
    currency: str = "USD",
) -> Series:
    """A series with hosted episodes, a price and a split, live on a partner app since `since`.

    split: rows as save_split takes them ({"email" or "user", "role", "credit_name", "bps"});
    the split takes effect at `since` (default: two minutes ago), the listing a second later."""
    since = since or datetime.now(UTC) - timedelta(minutes=2)
    series = create_series(
        session, owner, title=title, synopsis="", language="en", genres=["drama"], currency=currency
    )
    for number in range(1, episodes + 1):
        add_episode(
            session,
            series,
            title=f"Episode {number}",
            duration_seconds=80,
            media_url=f"https://cdn.example.com/{series.id}/{number}.mp4",
        )
    set_pricing(session, series, free_episodes=free, episode_price=price)
    save_split(session, series, owner, split, platform_fee_bps=PLATFORM_FEE_BPS, now=since)
    partner = session.get(PartnerApp, partner_id)
    publish_series(session, series, owner, [partner], now=since + timedelta(seconds=1))
    return series


def signup_link_from_mail(live_session, email: str) -> str:
    """The link of the newest sign-up email to `email` (what its owner would click)."""
    from sqlalchemy import select

    from marketplace.mail import OutboxMessage

    body = live_session.scalars(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.to_address == email, OutboxMessage.kind == "signup.confirm")
        .order_by(OutboxMessage.id.desc())
    ).first()
    live_session.rollback()  # end the read before the browser writes (SQLite)
    assert body, f"no sign-up email to {email}"
    [link] = [word for word in body.split() if "/auth/confirm/" in word]
    return link


def run_poster(app) -> None:
    """What `flask ledger post` does beside the web server: post the accepted events."""
    from marketplace.ingest.poster import post_pending

    with app.app_context():
        post_pending(db.session())
        db.session.remove()
