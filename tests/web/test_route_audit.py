"""Route audit: every rule of app.url_map, its guard and its CSRF check, derived from the map
itself (a new route is audited without being listed), then object-level checks that no id in a
URL, a query string or a form field gets around, the login redirect, invitation tokens, and
the partner API's and Stripe's signatures.

tests/statements/test_authorization.py holds the hand-written table of every route's status
per role; this file checks the rules that table cannot: the guard runs before any look-up,
nothing is written on GET, forged requests change nothing, a partner signature (v2) is good
for the one request it signed.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, func, select

from ledger.schema import AllocationRun, Entry
from marketplace.accounts.models import User
from marketplace.audit import AuditEvent
from marketplace.chart import ledger_account
from marketplace.extensions import db as _db
from marketplace.ingest.api.auth import signature
from marketplace.ingest.api.catalog import media_signer
from marketplace.ingest.revenue import RevenueFacts, post_revenue
from marketplace.mail import OutboxMessage
from marketplace.partners.models import PartnerApiKey, PartnerApp
from marketplace.partners.services import create_partner
from marketplace.payouts.batches import build_batch
from marketplace.payouts.gateway import DEV_ONBOARDING_PATH, emulated_gateway, install_gateway
from marketplace.payouts.models import PayoutAccount, PayoutApproval, PayoutBatch, PayoutLine
from marketplace.payouts.sandbox.emulator import EmulatedStripe
from marketplace.publishing import services as publishing
from marketplace.splits import invitations
from marketplace.splits import services as splits
from marketplace.splits.models import TeamMember
from marketplace.studio import series as series_service
from marketplace.studio.models import Episode, Listing, Series
from marketplace.studio.storage import MediaStorage
from marketplace.tax.services import W9, submit_w9
from tests.api.conftest import send_signed, v2_header
from tests.helpers import PASSWORD, csrf_token_from, ref_of, signup_link_path
from tests.studio.conftest import MP4, PNG

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)
MONTH = "2026-01"
WEBHOOK_SECRET = "whsec_route_audit"
ONBOARDING_BASE = "http://localhost" + DEV_ONBOARDING_PATH
MISSING = 987654321
"""An id no row has: a guard that answers 404 for it looked the object up before the role."""

# Endpoints anyone may call, and why; every other endpoint needs a session or a signature.
PUBLIC = {
    "main.index": "the landing page",
    "main.healthz": "liveness probe, no data",
    "static": "assets",
    "auth.login": "the way in",
    "auth.signup": "the way in",
    "auth.logout": "ends the caller's own session only",
    "auth.confirm": "the signed sign-up link in the URL is the key",
    "api.docs": "the partner API's documentation",
    "api.openapi_json": "the partner API's schema",
    "api.not_found": "JSON 404/405 for unknown API paths",
    "api.media": "the signed, expiring token in the URL is the key",
    "splits.invitation": "the signed invitation token in the URL is the key",
    "payouts.dev_onboarding": "emulated Stripe only; the account link token is the key",
    "stripe_webhooks.stripe_webhook": "verified by Stripe's signature",
}
API_SIGNED = {
    "api.catalog",
    "api.event",
    "api.unlocks",
    "api.refunds",
    "api.revenue_pools",
    "api.coin_unlocks",
    "api.bundles",
    "api.purchases",
    "api.views",
    "settlements_api.settlements",
    "settlements_api.settlement",
    "reconciliation_api.upload_report",
    "reconciliation_api.report",
}
CSRF_EXEMPT = (
    {e for e in PUBLIC if e.startswith("api.")} | API_SIGNED | {"stripe_webhooks.stripe_webhook"}
)
"""Signed by HMAC (partner API) or by Stripe, never authenticated by a cookie."""
SECRET_HOLDERS = {
    "auth.confirm": 404,
    "api.media": 404,
    "splits.invitation": 404,
    "payouts.dev_onboarding": 404,
    "stripe_webhooks.stripe_webhook": 400,
}
"""Public endpoints whose key is in the request: what a made-up key gets."""
ANY_USER = {
    "main.home", "auth.change_password", "auth.notifications", "auth.settings",
    "auth.logout_everywhere",
}  # fmt: skip
PAYEES = ("creator", "participant")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def allowed_roles(endpoint: str) -> tuple[str, ...]:
    """The roles an endpoint admits, from the area it belongs to."""
    if endpoint in ANY_USER:
        return ("creator", "participant", "admin")
    if endpoint in ("splits.accept_invitation", "splits.plan_consent"):  # team members answer
        return PAYEES
    area = endpoint.split(".")[0]
    roles = {
        "admin": ("admin",),
        "studio": ("creator",),
        "splits": ("creator",),
        "publishing": ("creator",),
        "dashboard": ("creator",),
        "earnings": PAYEES,
        "payouts": PAYEES,
        "tax": PAYEES,
    }
    assert area in roles, f"{endpoint}: an endpoint outside every audited area"
    return roles[area]


def routes(app, *, with_args: dict | None = None):
    """(endpoint, method, path) for every rule and method; URL arguments from `with_args`
    (by name) or a row id nobody has."""
    values = with_args or {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):

        def fill(match: re.Match) -> str:
            converter, name = match.group(1), match.group(2)
            if name in values:
                return str(values[name])
            if name == "direction":
                return "up"
            return str(MISSING) if converter == "int" else "not-a-token"

        path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)
        if rule.endpoint == "static":
            path = "/static/vendor/chartjs/chart.umd.min.js"
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule.endpoint, method, path


def goes_to_login(response, path: str) -> bool:
    """A redirect to the login page that brings the user back to `path` afterwards."""
    if response.status_code != 302:
        return False
    target = urlsplit(response.location)
    return target.path == "/auth/login" and parse_qs(target.query).get("next") == [path]


@dataclass
class Cast:
    """Two creators, two participants, an admin, two partner apps (with keys), a published
    series with an invitation still open, money for both participants, a payout batch."""

    creator: User
    other_creator: User
    participant: User
    other_participant: User
    admin: User
    series: Series
    other_series: Series
    episode: Episode
    listing: Listing
    member: TeamMember
    invited: TeamMember
    partner: PartnerApp
    partner_key: tuple[str, str]
    other_partner: PartnerApp
    other_partner_key: tuple[str, str]
    batch: PayoutBatch
    line: PayoutLine
    other_line: PayoutLine
    emulator: EmulatedStripe

    def ids(self, db) -> dict:
        """Real ids for every URL argument of the map, all of them the creator's or admin's."""
        return {
            "series_id": self.series.id,
            "episode_id": self.episode.id,
            "listing_id": self.listing.id,
            "member_id": self.invited.id,
            "token": invitations.invitation_token(self.invited),
            "partner_id": self.partner.id,
            "batch_id": self.batch.id,
            "line_id": self.line.id,
            "account_id": ledger_account(db.session, "member_earnings", "USD", self.member.id).id,
            "entry_id": db.session.scalar(select(AllocationRun.entry_id).limit(1)),
            "event_id": "no-such-event",
        }


@pytest.fixture
def stripe_emulator(app):
    """An in-memory emulated Stripe behind the app's gateway (never the instance file)."""
    emulator = EmulatedStripe(onboarding_url_base=ONBOARDING_BASE)
    gateway = emulated_gateway(
        emulator, WEBHOOK_SECRET, max_network_retries=0, onboarding_url_base=ONBOARDING_BASE
    )
    install_gateway(app, gateway)
    yield emulator
    install_gateway(app, None)


@pytest.fixture
def cast(db, stripe_emulator, make_creator, make_participant, make_admin) -> Cast:
    """The Cast, built through the services the site uses."""
    tag = uuid.uuid4().hex[:8]
    creator, other_creator = (make_creator(email=f"{n}-{tag}@example.com") for n in "ab")
    participant, other_participant = (make_participant(email=f"{n}-{tag}@example.com")
                                      for n in ("pat", "oz"))  # fmt: skip
    admin = make_admin(email=f"admin-{tag}@example.com")
    partner, *partner_key = create_partner(
        db.session, name=f"Reel {tag}", currency="USD", share_bps=3000, hold_days=0
    )
    other_partner, *other_key = create_partner(
        db.session, name=f"Box {tag}", currency="EUR", share_bps=3000, hold_days=0
    )
    storage = MediaStorage.from_app()
    before = T0 - timedelta(days=30)

    series = series_service.create_series(db.session, creator, title=f"Night Shift {tag}")
    episode = series_service.add_episode(
        db.session, series, title="Pilot", upload=io.BytesIO(MP4), storage=storage
    )
    series_service.add_episode(
        db.session, series, title="Two", media_url="https://cdn.example.test/2.mp4", storage=storage
    )
    series_service.set_poster(db.session, series, io.BytesIO(PNG), storage)
    series_service.set_pricing(db.session, series, free_episodes=0, episode_price=49)
    rows = [
        {"user": participant, "role": "actor", "credit_name": "Pat", "bps": 6000},
        {"email": f"ivy-{tag}@example.com", "role": "writer", "credit_name": "Ivy", "bps": 4000},
    ]
    version = splits.save_split(
        db.session, series, creator, rows, platform_fee_bps=1000, now=before
    )
    member, invited = (s.member for s in sorted(version.shares, key=lambda s: -s.bps))
    invitations.resend_invitation(db.session, invited, creator)  # the first link has expired
    [listing] = publishing.publish_series(db.session, series, creator, [partner], now=before)

    other = series_service.create_series(
        db.session, other_creator, title=f"Day Job {tag}", currency="EUR"
    )
    series_service.add_episode(
        db.session,
        other,
        title="One",
        media_url="https://cdn.example.test/one.mp4",
        storage=storage,
    )
    series_service.set_pricing(db.session, other, free_episodes=0, episode_price=99)
    splits.save_split(
        db.session,
        other,
        other_creator,
        [{"user": other_participant, "role": "writer", "credit_name": "Oz", "bps": 10000}],
        platform_fee_bps=1000,
        now=before,
    )
    publishing.publish_series(db.session, other, other_creator, [other_partner], now=before)

    post_revenue(db.session, partner,
                 [RevenueFacts(ref_of(f"audit:{tag}:1"), series.id, 10_000, T0, episode=1,
                               country="US")],
                 now=T0)  # fmt: skip
    post_revenue(db.session, other_partner,
                 [RevenueFacts(ref_of(f"audit:{tag}:2"), other.id, 777_700, T0, episode=1,
                               country="FR")],
                 now=T0)  # fmt: skip
    db.session.add_all([
        PayoutAccount(user_id=participant.id, stripe_account_id=f"acct_pat{tag}",
                      details_submitted=True, payouts_enabled=True),
        PayoutAccount(user_id=other_participant.id, stripe_account_id=f"acct_oz{tag}",
                      details_submitted=True, payouts_enabled=True),
    ])  # fmt: skip
    for person in (participant, other_participant):
        submit_w9(db.session, person, W9(
            legal_name=person.display_name, tin_type="SSN", tin="123-45-6789",
            address="1 Main St", address_country="US", certified=True,
            signed_name=person.display_name,
        ))  # fmt: skip
    db.session.flush()
    day = T0 + timedelta(days=1)
    batch = build_batch(db.session, as_of=day, now=day, minimum=100, created_by_id=admin.id).batch
    found = db.session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch.id))
    lines = {line.user_id: line for line in found}
    return Cast(creator, other_creator, participant, other_participant, admin, series, other,
                episode, listing, member, invited, partner, tuple(partner_key), other_partner,
                tuple(other_key), batch, lines[participant.id], lines[other_participant.id],
                stripe_emulator)  # fmt: skip


def log_in(client, login_as, user):
    """A fresh session for `user` (None: anonymous)."""
    with client.session_transaction() as session:
        session.clear()
    if user is not None:
        login_as(user)


# --- guards derived from the URL map ----------------------------------------------------------


def test_anonymous_users_get_only_the_public_endpoints(app, client, db):
    wrong = []
    for endpoint, method, path in routes(app):
        response = client.open(path, method=method, data={})
        if endpoint in SECRET_HOLDERS:
            ok = response.status_code == SECRET_HOLDERS[endpoint]
        elif endpoint in PUBLIC:
            ok = response.status_code not in (401, 403, 500) and not goes_to_login(response, path)
        elif endpoint in API_SIGNED:
            ok = response.status_code == 401 and response.is_json
        else:
            ok = goes_to_login(response, path)
        if not ok:
            wrong.append((method, path, response.status_code, response.location))
    assert wrong == []


def test_wrong_roles_are_refused_before_any_object_is_looked_up(
    app, client, db, login_as, make_creator, make_participant, make_admin
):
    users = {"creator": make_creator(), "participant": make_participant(), "admin": make_admin()}
    wrong = []
    for endpoint, method, path in routes(app):
        if endpoint in PUBLIC:
            continue
        for role, user in users.items():
            log_in(client, login_as, user)
            response = client.open(path, method=method, data={})
            if endpoint in API_SIGNED:
                expected_ok = response.status_code == 401  # a session never signs the API
            elif role in allowed_roles(endpoint):
                continue
            else:
                expected_ok = response.status_code == 403
            if not expected_ok:
                wrong.append((role, method, path, response.status_code))
    assert wrong == []


def test_state_changing_endpoints_refuse_get(app, client, db, login_as, make_admin):
    get_endpoints = {e for e, m, _ in routes(app) if m == "GET"}
    post_only = sorted({(e, p) for e, m, p in routes(app) if m != "GET" and e not in get_endpoints})
    assert post_only, "the map has POST-only endpoints"
    log_in(client, login_as, make_admin())
    answers = {e: client.get(p).status_code for e, p in post_only}
    assert set(answers.values()) == {405}, answers


def test_get_requests_write_nothing(app, client, db, login_as, cast):
    users = {"creator": cast.creator, "participant": cast.participant, "admin": cast.admin}
    writes: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if WRITES.match(statement):
            writes.append(statement.split("(")[0].strip())

    connection = _db.engines[None]  # the test's transaction (see the db fixture)
    event.listen(connection, "before_cursor_execute", record)
    seen = {}
    try:
        for endpoint, method, path in routes(app, with_args=cast.ids(db)):
            # /payouts/refresh is pinned by its own test below (it creates an account on GET).
            if method != "GET" or endpoint in API_SIGNED | {"payouts.onboarding_refresh"}:
                continue
            user = None if endpoint in PUBLIC else users[allowed_roles(endpoint)[-1]]
            if endpoint.startswith("earnings.statement"):
                path += f"?month={MONTH}&currency=USD&line=earning"
            log_in(client, login_as, user)
            del writes[:]
            status = client.get(path).status_code
            seen[path] = (status, list(writes))
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert {path: w for path, (_, w) in seen.items() if w} == {}
    assert sum(status == 200 for status, _ in seen.values()) >= 43, seen  # real pages, not 404s


def test_a_link_to_the_onboarding_refresh_page_creates_no_account(client, db, login_as, cast):
    user = cast.creator  # a payee with no payout account yet
    log_in(client, login_as, user)
    client.get("/payouts/refresh", headers={"Referer": "https://evil.example/"})
    mine = select(func.count()).select_from(PayoutAccount).where(PayoutAccount.user_id == user.id)
    assert db.session.scalar(mine) == 0


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.fixture
def csrf_on(app, monkeypatch):
    """CSRF checks as in production (the test config turns them off)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def test_production_settings_check_csrf_on_every_form(tmp_path, monkeypatch):
    from marketplace import create_app
    from marketplace.extensions import csrf

    for name, value in {
        "CLIFFHANGER_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STRIPE_SECRET_KEY": "sk_test_not_used_" + "x" * 20,
        "STRIPE_WEBHOOK_SECRET": "whsec_not_used_" + "x" * 20,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "STRIPE_EMULATOR_PATH": str(tmp_path / "stripe.sqlite3"),
    }.items():
        monkeypatch.setenv(name, value)
    prod = create_app()
    assert prod.extensions["csrf"] is csrf
    assert prod.config["WTF_CSRF_ENABLED"] is True and prod.config["WTF_CSRF_CHECK_DEFAULT"]
    response = prod.test_client().post("/auth/login", data={"email": "a@b.co", "password": "x"})
    assert response.status_code == 400


def test_only_the_signed_endpoints_skip_the_csrf_check(app, client, db, csrf_on, caplog):
    skipped, posts = set(), set()
    for endpoint, method, path in routes(app):
        if method == "GET":
            continue
        posts.add(endpoint)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="flask_wtf.csrf"):
            response = client.open(path, method=method, data={})
        refused = response.status_code == 400 and any(
            "CSRF token" in record.getMessage() for record in caplog.records
        )
        if not refused:
            skipped.add(endpoint)
    assert skipped == CSRF_EXEMPT & posts
    assert len(posts - skipped) >= 25  # every form POST of the site


def forged_actions(cast, db) -> list[tuple[User, str, dict]]:
    """(user, path, form) for each state-changing action, with data that would succeed."""
    s, e, ids = cast.series.id, cast.episode.id, cast.ids(db)
    new_password = "another long password"
    return [
        (cast.creator, f"/studio/episodes/{e}/delete", {}),
        (cast.creator, f"/studio/episodes/{e}/move/down", {}),
        (cast.creator, f"/studio/listings/{cast.listing.id}/withdraw", {}),
        (cast.creator, f"/studio/members/{cast.invited.id}/resend", {}),
        (cast.creator, f"/studio/series/{s}/pricing",
         {"currency": "USD", "free_episodes": "3", "episode_price": "9.99"}),
        (cast.creator, f"/studio/series/{s}/edit", {"title": "Forged", "language": "en"}),
        (cast.creator, f"/studio/series/{s}/localize", {"language": "fr"}),
        (cast.creator, "/studio/series/new",
         {"title": "Forged", "language": "en", "currency": "USD"}),
        (cast.other_participant, f"/studio/invitations/{ids['token']}/accept", {}),
        (cast.creator, "/payouts/connect", {}),
        (cast.participant, "/auth/password",
         {"current_password": PASSWORD, "new_password": new_password, "confirm": new_password}),
        (cast.admin, f"/admin/payouts/{cast.batch.id}/approve", {}),
        (cast.admin, f"/admin/payouts/lines/{cast.line.id}/reject", {"reason": "forged"}),
        (cast.admin, f"/admin/payouts/{cast.batch.id}/execute", {}),
        (cast.admin, "/admin/payouts/build", {}),
        (cast.admin, f"/admin/partners/{cast.partner.id}/rotate", {}),
        (cast.admin, "/admin/partners",
         {"name": "Forged", "currency": "USD", "share_bps": "1", "hold_days": "1"}),
        (cast.admin, "/admin/ledger/adjust",
         {"account_id": ids["account_id"], "direction": "increase", "amount": "100",
          "reason": "forged adjustment", "token": "forged-adjustment-token"}),
        (cast.admin, "/auth/logout", {}),
    ]  # fmt: skip


def site_state(db, cast) -> dict:
    """Everything the forged requests above would change."""
    db.session.expire_all()

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    series = db.session.get(Series, cast.series.id)
    return {
        "series": (series.title, series.episode_price, series.status, series.owner_id),
        "episodes": [(e.id, e.number) for e in series.episodes],
        "listings": [(listing.id, listing.status) for listing in series.listings],
        "series_count": count(Series),
        "invited": (cast.invited.invitation_nonce, cast.invited.user_id),
        "accounts": count(PayoutAccount),
        "passwords": [u.password_hash for u in db.session.scalars(select(User).order_by(User.id))],
        "batches": [(b.id, b.status) for b in db.session.scalars(select(PayoutBatch))],
        "approvals": count(PayoutApproval),
        "lines": [(x.id, x.status) for x in db.session.scalars(select(PayoutLine))],
        "keys": count(PartnerApiKey),
        "partners": count(PartnerApp),
        "entries": count(Entry),
        "audit": count(AuditEvent),
        "outbox": count(OutboxMessage),
    }


def test_forged_posts_are_refused_and_change_nothing(app, client, db, login_as, cast, csrf_on):
    stranger = app.test_client()
    foreign_token = csrf_token_from(stranger.get("/auth/login").get_data(as_text=True))
    before = site_state(db, cast)
    answers = []
    for user, path, form in forged_actions(cast, db):
        log_in(client, login_as, user)
        own = csrf_token_from(client.get("/auth/password").get_data(as_text=True))
        assert own != foreign_token
        for token in (None, foreign_token, own[:-2] + "xx"):
            data = form if token is None else {**form, "csrf_token": token}
            answers.append((path, client.post(path, data=data).status_code))
    assert {status for _, status in answers} == {400}, answers
    assert site_state(db, cast) == before
    assert client.get("/admin/").status_code == 200  # the forged logout left the admin in


def test_the_pages_own_token_is_accepted(app, client, db, login_as, cast, csrf_on):
    log_in(client, login_as, cast.creator)
    page = client.get(f"/studio/series/{cast.series.id}").get_data(as_text=True)
    path = f"/studio/listings/{cast.listing.id}/withdraw"
    assert client.post(path, data={"csrf_token": csrf_token_from(page)}).status_code == 302
    db.session.expire_all()
    assert cast.listing.status == "withdrawn"


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.DOTALL | re.IGNORECASE)


def test_every_post_form_of_every_page_carries_a_csrf_token(
    app, client, db, login_as, cast, csrf_on
):
    users = {"creator": cast.creator, "participant": cast.participant, "admin": cast.admin}
    actions, missing = set(), []
    for endpoint, method, path in routes(app, with_args=cast.ids(db)):
        if method != "GET" or endpoint.startswith("api.") or endpoint in API_SIGNED | {"static"}:
            continue
        for role in ("anonymous", *PAYEES) if endpoint in PUBLIC else allowed_roles(endpoint):
            log_in(client, login_as, users.get(role))
            response = client.get(path)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            for attributes, body in FORM.findall(response.get_data(as_text=True)):
                if 'method="post"' not in attributes.lower():
                    continue
                action = re.search(r'action="([^"]*)"', attributes)
                actions.add(re.sub(r"\d+", "N", action.group(1) if action else path))
                if 'name="csrf_token"' not in body:
                    missing.append((path, role, attributes))
    assert missing == []
    expected = {
        "/auth/logout", "/payouts/connect", "/admin/payouts/N/approve",
        "/admin/payouts/lines/N/reject", "/admin/partners/N/rotate", "/studio/members/N/resend",
        "/studio/episodes/N/delete", "/studio/episodes/N/move/up", "/studio/listings/N/withdraw",
    }  # fmt: skip
    assert expected <= actions, expected - actions
    assert any(a.startswith("/studio/invitations/") for a in actions)


# --- object-level authorization -----------------------------------------------------------------


def test_another_creator_changes_nothing_through_any_owner_route(client, db, login_as, cast):
    s, e = cast.series.id, cast.episode.id
    attempts = [
        (f"/studio/series/{s}/edit", {"title": "Taken", "language": "en"}),
        (f"/studio/series/{s}/pricing",
         {"currency": "USD", "free_episodes": "3", "episode_price": "0.01"}),
        (f"/studio/series/{s}/split",
         {"rows-0-email": cast.other_creator.email, "rows-0-role": "producer",
          "rows-0-credit_name": "Me", "rows-0-share": "100"}),
        (f"/studio/series/{s}/publish", {"partners": str(cast.other_partner.id)}),
        (f"/studio/series/{s}/episodes/new", {"media_url": "https://evil.example/x.mp4"}),
        (f"/studio/series/{s}/localize", {"language": "fr", "title": "Stolen"}),
        (f"/studio/episodes/{e}/edit", {"media_url": "https://evil.example/x.mp4"}),
        (f"/studio/episodes/{e}/move/down", {}),
        (f"/studio/episodes/{e}/delete", {}),
        (f"/studio/listings/{cast.listing.id}/withdraw", {}),
        (f"/studio/members/{cast.invited.id}/resend", {}),
    ]  # fmt: skip
    before = site_state(db, cast)
    log_in(client, login_as, cast.other_creator)
    answers = {path: client.post(path, data=form).status_code for path, form in attempts}
    assert set(answers.values()) == {404}, answers
    for path in (f"/studio/series/{s}/dashboard", f"/studio/posters/{s}", f"/studio/media/{e}"):
        assert client.get(path).status_code == 404, path
    assert site_state(db, cast) == before
    # The same forms from the owner go through: the 404s above are the ownership check.
    log_in(client, login_as, cast.creator)
    assert client.post(attempts[1][0], data=attempts[1][1]).status_code == 302
    db.session.expire_all()
    assert db.session.get(Series, s).episode_price == 1


def test_ids_in_form_fields_do_not_reach_other_objects(client, db, login_as, cast):
    other = cast.other_series
    inactive = PartnerApp(name=f"Gone {uuid.uuid4().hex[:6]}", currency="USD", share_bps=1,
                          hold_days=0, active=False)  # fmt: skip
    db.session.add(inactive)
    db.session.flush()
    log_in(client, login_as, cast.creator)
    edited = client.post(f"/studio/series/{cast.series.id}/edit", data={
        "title": "Still mine", "language": "en", "id": other.id, "series_id": other.id,
        "owner_id": cast.other_creator.id,
    })  # fmt: skip
    assert edited.status_code == 302
    publish = client.post(f"/studio/series/{cast.series.id}/publish",
                          data={"partners": [str(inactive.id)]})  # fmt: skip
    assert publish.status_code == 422
    split = client.post(f"/studio/series/{cast.series.id}/split", data={
        "rows-0-email": cast.other_participant.email, "rows-0-role": "actor",
        "rows-0-credit_name": "Oz", "rows-0-share": "100",
        "rows-0-user_id": cast.other_participant.id, "rows-0-member_id": cast.member.id,
    })  # fmt: skip
    assert split.status_code == 302
    db.session.expire_all()
    mine, theirs = db.session.get(Series, cast.series.id), db.session.get(Series, other.id)
    assert (mine.title, mine.owner_id) == ("Still mine", cast.creator.id)
    assert theirs.title.startswith("Day Job") and theirs.owner_id == cast.other_creator.id
    assert inactive.id not in {listing.partner_id for listing in mine.listings}
    # A row naming someone's email invites them; it never joins their account by an id.
    added = db.session.scalars(select(TeamMember).where(
        TeamMember.series_id == mine.id, TeamMember.email == cast.other_participant.email
    )).one()  # fmt: skip
    assert added.user_id is None and added.invitation_nonce
    assert db.session.get(TeamMember, cast.member.id).user_id == cast.participant.id


def test_a_participant_reaches_no_one_elses_money_by_any_parameter(client, db, login_as, cast):
    theirs = db.session.scalars(
        select(TeamMember).where(TeamMember.series_id == cast.other_series.id)
    ).one()
    their_account = ledger_account(db.session, "member_earnings", "EUR", theirs.id).id
    foreign = {"month": MONTH, "user_id": cast.other_participant.id, "member_id": theirs.id,
               "account_id": their_account, "entry_id": 1, "owner_id": theirs.id}  # fmt: skip
    drill = {"line": "earning", "series_id": cast.other_series.id, "episode": 1,
             "partner_id": cast.other_partner.id, "country": "FR", "kind": "unlock"}  # fmt: skip
    log_in(client, login_as, cast.participant)
    for path in ("/earnings/statement", "/earnings/statement/lines", "/earnings/statement.csv",
                 "/earnings/statement.pdf"):  # fmt: skip
        assert (
            client.get(path, query_string={**foreign, **drill, "currency": "EUR"}).status_code
            == 404
        )
        usd = client.get(path, query_string={**foreign, **drill, "currency": "USD"})
        plain = client.get(path, query_string={**drill, "month": MONTH, "currency": "USD"})
        assert usd.status_code == plain.status_code == 200, path
        body = usd.get_data(as_text=True) if usd.mimetype != "application/pdf" else ""
        assert "Day Job" not in body and "€" not in body and "7,777" not in body, path
        if usd.mimetype == "text/csv":
            assert usd.data == plain.data
    assert "0 event(s)" in client.get(
        "/earnings/statement/lines", query_string={**drill, "month": MONTH, "currency": "USD"}
    ).get_data(as_text=True)
    payouts = client.get("/payouts/", query_string=foreign).get_data(as_text=True)
    assert "$37.80" in payouts and "€" not in payouts and "acct_oz" not in payouts
    log_in(client, login_as, cast.other_participant)
    assert "€" in client.get("/payouts/").get_data(as_text=True)  # the owner does see them


def test_only_admins_decide_payouts_ledger_and_partner_keys(client, db, login_as, cast):
    own_account = ledger_account(db.session, "member_earnings", "USD", cast.member.id).id
    attempts = [
        (f"/admin/payouts/{cast.batch.id}/approve", {}),
        (f"/admin/payouts/lines/{cast.line.id}/reject", {"reason": "mine"}),
        (f"/admin/payouts/lines/{cast.other_line.id}/reject", {"reason": "theirs"}),
        (f"/admin/payouts/{cast.batch.id}/execute", {}),
        ("/admin/payouts/build", {}),
        ("/admin/ledger/adjust", {"account_id": own_account, "direction": "increase",
                                  "amount": "1000", "reason": "a raise for me",
                                  "token": "self-service-raise-token"}),
        (f"/admin/partners/{cast.partner.id}/rotate", {}),
        ("/admin/partners", {"name": "Mine", "currency": "USD", "share_bps": "0",
                             "hold_days": "0"}),
    ]  # fmt: skip
    before = site_state(db, cast)
    for user in (cast.participant, cast.other_participant, cast.creator, cast.other_creator):
        log_in(client, login_as, user)
        answers = {path: client.post(path, data=form).status_code for path, form in attempts}
        assert set(answers.values()) == {403}, (user, answers)
    assert site_state(db, cast) == before


def test_two_approvals_take_two_different_admins(client, db, login_as, cast, make_admin):
    cast.batch.approvals_required = 2
    db.session.flush()
    path = f"/admin/payouts/{cast.batch.id}/approve"
    log_in(client, login_as, cast.admin)
    assert [client.post(path).status_code for _ in range(2)] == [302, 302]
    db.session.expire_all()
    assert cast.batch.status == "draft" and len(cast.batch.approvals) == 1
    log_in(client, login_as, make_admin())
    client.post(path)
    db.session.expire_all()
    assert cast.batch.status == "approved"


def test_pages_with_state_changing_buttons_cannot_be_framed(client, db, login_as, cast):
    pages = [
        (cast.admin, f"/admin/payouts/{cast.batch.id}"),
        (cast.creator, f"/studio/series/{cast.series.id}"),
        (cast.participant, f"/studio/invitations/{invitations.invitation_token(cast.invited)}"),
    ]
    for user, path in pages:
        log_in(client, login_as, user)
        response = client.get(path)
        assert response.status_code == 200
        frame_options = response.headers.get("X-Frame-Options", "").upper()
        policy = response.headers.get("Content-Security-Policy", "")
        assert frame_options in {"DENY", "SAMEORIGIN"} or "frame-ancestors" in policy, path


# --- the login redirect -------------------------------------------------------------------------

OFF_SITE = ["//evil.example/x", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
            "/\t/evil.example", "http:/evil.example", "javascript:alert(1)", " //evil.example",
            "/%2F%2Fevil.example", "https:evil.example"]  # fmt: skip


def confirmed_signup(client, db, target: str):
    """Sign up with `next` set to `target`, then follow the emailed link: its answer."""
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    client.post("/auth/signup", query_string={"next": target}, data={
        "email": email, "password": PASSWORD, "confirm": PASSWORD, "role": "participant",
    })  # fmt: skip
    return client.post(signup_link_path(db, email))


def test_login_and_signup_never_send_the_user_off_site(client, db, make_creator):
    user = make_creator(email=f"back-{uuid.uuid4().hex[:8]}@example.com")
    answers = [
        client.post("/auth/login", query_string={"next": target},
                    data={"email": user.email, "password": PASSWORD})
        for target in OFF_SITE
    ] + [
        confirmed_signup(client, db, target) for target in OFF_SITE[:3]
    ]  # fmt: skip
    for response in answers:
        assert response.status_code == 302
        location = response.location
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        assert urlsplit(location).netloc == "" and "\\" not in location, location


def test_login_goes_back_to_the_page_that_asked_for_it(client, db, cast):
    path = f"/studio/series/{cast.series.id}/split"
    asked = client.get(path)
    assert goes_to_login(asked, path)
    back = client.post(asked.location, data={"email": cast.creator.email, "password": PASSWORD})
    assert back.status_code == 302 and back.location == path


# --- invitation links ---------------------------------------------------------------------------


def test_invitation_links_open_only_their_own_invitation(client, db, login_as, cast):
    from itsdangerous import URLSafeTimedSerializer

    token = invitations.invitation_token(cast.invited)
    claim = {"member_id": cast.invited.id, "nonce": cast.invited.invitation_nonce}
    not_ours = URLSafeTimedSerializer("not-the-secret-key", salt=invitations.SALT).dumps(claim)
    other_salt = media_signer().dumps(claim)
    media_token = media_signer().dumps(["e", cast.episode.id])
    log_in(client, login_as, cast.other_participant)
    for fake in (not_ours, other_salt, media_token, token[:-4] + "AAAA"):
        assert client.get(f"/studio/invitations/{fake}").status_code == 404
        assert client.post(f"/studio/invitations/{fake}/accept").status_code == 404
    assert client.get(f"/api/v1/media/{token}").status_code == 404  # nor is it a media link
    db.session.expire_all()
    assert cast.invited.user_id is None


def accept(client, token):
    """POST the accept button; the flashed page after the redirect."""
    return client.post(f"/studio/invitations/{token}/accept", follow_redirects=True).get_data(
        as_text=True
    )


def test_an_invitation_is_taken_once_and_never_when_expired_or_replaced(client, db, login_as, cast):
    invited = cast.invited
    first = invitations.invitation_token(invited)
    invited.invitation_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.flush()
    log_in(client, login_as, cast.participant)
    assert "has expired" in accept(client, first)
    log_in(client, login_as, cast.creator)
    assert client.post(f"/studio/members/{invited.id}/resend").status_code == 302
    log_in(client, login_as, cast.participant)
    assert "newer invitation" in accept(client, first)
    db.session.expire_all()
    assert invited.user_id is None
    fresh = invitations.invitation_token(invited)
    log_in(client, login_as, cast.other_participant)
    assert "You are on the team" in accept(client, fresh)
    log_in(client, login_as, cast.participant)
    assert "already been accepted" in accept(client, fresh)
    log_in(client, login_as, cast.creator)
    outbox = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    client.post(f"/studio/members/{invited.id}/resend")
    db.session.expire_all()
    assert invited.user_id == cast.other_participant.id
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox


# --- partner API and Stripe signatures ----------------------------------------------------------


def signed(client, key: tuple[str, str], method: str, path: str, payload=None):
    """A request signed as the partner API wants (v2: over the timestamp, method, path, query
    and body)."""
    key_id, secret = key
    body = b"" if payload is None else json.dumps(payload).encode()
    return send_signed(client, key_id, secret, method, path, body)


def test_a_partner_app_reads_and_changes_only_its_own_events(client, db, cast):
    now = datetime.now(UTC)
    ours, theirs = cast.partner_key, cast.other_partner_key
    unlock = {"id": "audit-unlock-1", "series_id": cast.series.id, "episode": 2, "amount": 49,
              "currency": "USD", "occurred_at": (now - timedelta(hours=1)).isoformat()}  # fmt: skip
    [result] = signed(client, ours, "POST", "/api/v1/unlocks", {"events": [unlock]}).json["results"]
    assert result["status"] == "accepted"
    assert signed(client, theirs, "GET", "/api/v1/events/audit-unlock-1").status_code == 404
    refund = {"id": "audit-refund-1", "unlock_id": "audit-unlock-1", "occurred_at": now.isoformat()}
    [result] = signed(client, theirs, "POST", "/api/v1/refunds", {"events": [refund]}).json[
        "results"
    ]
    assert result["status"] == "rejected"
    sneaked = {**unlock, "id": "audit-unlock-2", "currency": "EUR"}
    [result] = signed(client, theirs, "POST", "/api/v1/unlocks", {"events": [sneaked]}).json[
        "results"
    ]
    assert result["status"] == "rejected" and result["error"]["code"] == "series_not_live"
    listed = signed(client, theirs, "GET", "/api/v1/catalog").json["series"]
    assert cast.series.id not in {s["id"] for s in listed} and listed
    mine = signed(client, ours, "GET", "/api/v1/events/audit-unlock-1")
    assert mine.status_code == 200 and mine.json["status"] == "accepted"


def test_a_partner_app_reconciles_and_reads_only_its_own_reports(client, db, cast):
    ours, theirs = cast.partner_key, cast.other_partner_key
    now = datetime.now(UTC)
    unlock = {"id": "audit-recon-1", "series_id": cast.series.id, "episode": 2, "amount": 49,
              "currency": "USD", "occurred_at": (now - timedelta(hours=1)).isoformat()}  # fmt: skip
    signed(client, ours, "POST", "/api/v1/unlocks", {"events": [unlock]})
    period = f"{now - timedelta(hours=1):%Y-%m}"
    line = f"audit-recon-1,{cast.series.id},2,49,USD,{unlock['occurred_at']}\n"
    body = ("event_id,series_id,episode,amount_minor,currency,occurred_at\n" + line).encode()
    path = f"/api/v1/settlements/reports?period={period}"
    # Another app cannot reconcile our events: the whole report is refused.
    refused = send_signed(client, *theirs, "POST", path, body, headers={"Content-Type": "text/csv"})
    assert refused.status_code == 400 and "another partner app" in refused.json["error"]["message"]
    mine = send_signed(client, *ours, "POST", path, body, headers={"Content-Type": "text/csv"})
    assert mine.status_code == 201 and mine.json["counts"]["matched"] == 1
    location = mine.headers["Location"]
    assert signed(client, theirs, "GET", location).status_code == 404
    assert signed(client, ours, "GET", location).status_code == 200


def test_a_partner_signature_is_good_only_for_the_request_it_signed(client, db, cast):
    key_id, secret = cast.partner_key
    stamp = str(int(time.time()))
    headers = {"X-Cliffhanger-Key": key_id, "X-Cliffhanger-Timestamp": stamp,
               "X-Cliffhanger-Signature": v2_header(secret, stamp, "GET", "/api/v1/catalog")}
    assert client.get("/api/v1/catalog", headers=headers).status_code == 200
    assert client.get("/api/v1/events/someone-elses-guess", headers=headers).status_code == 401
    assert client.get("/api/v1/catalog?limit=1", headers=headers).status_code == 401
    # A v1 signature (timestamp and body only) from an app not flagged legacy is refused.
    v1 = {**headers, "X-Cliffhanger-Signature": signature(secret, stamp, b"")}
    assert client.get("/api/v1/catalog", headers=v1).status_code == 401


PUBLIC_DEV_WEBHOOK_SECRET = "whsec_emulated_dev_only"
"""config.py's default STRIPE_WEBHOOK_SECRET, printed in the README."""


def test_production_refuses_webhooks_signed_with_the_public_development_secret(
    tmp_path, monkeypatch
):
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.config import ConfigError

    for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "CLIFFHANGER_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STRIPE_EMULATOR_PATH": str(tmp_path / "stripe.sqlite3"),
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    }.items():
        monkeypatch.setenv(name, value)
    # Without its own webhook secret, production does not start (it would trust the public one).
    with pytest.raises(ConfigError, match="STRIPE_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_audit_" + "x" * 20)
    with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_SECRET"):
        create_app()
    # With its own secret, an event signed with the public development secret is refused.
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_production_only_" + "x" * 20)
    prod = create_app()
    with prod.app_context():
        upgrade()
    forged = {"id": "evt_forged", "object": "event", "type": "charge.dispute.created",
              "data": {"object": {"id": "dp_forged"}}}  # fmt: skip
    body, header = EmulatedStripe().signed_payload(forged, PUBLIC_DEV_WEBHOOK_SECRET)
    response = prod.test_client().post(
        "/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )
    with prod.app_context():
        _db.engine.dispose()
    assert response.status_code == 400
    assert "payouts.dev_onboarding" not in prod.view_functions


def test_stripe_webhooks_are_refused_unsigned_forged_or_stale(client, db, cast):
    event_body = {"id": "evt_audit", "object": "event", "type": "charge.dispute.created",
                  "data": {"object": {"id": "dp_1"}}}  # fmt: skip

    def post(body, header):
        return client.post("/stripe/webhook", data=body,
                           headers={"Stripe-Signature": header,
                                    "Content-Type": "application/json"})  # fmt: skip

    good_body, good_header = cast.emulator.signed_payload(event_body, WEBHOOK_SECRET)
    for body, header in (
        (good_body, ""),
        cast.emulator.signed_payload(event_body, PUBLIC_DEV_WEBHOOK_SECRET),
        cast.emulator.signed_payload(event_body, WEBHOOK_SECRET, timestamp=int(time.time()) - 600),
        (good_body.replace(b"dp_1", b"dp_2"), good_header),
    ):
        assert post(body, header).status_code == 400
    assert client.get("/stripe/webhook").status_code == 405
    assert post(good_body, good_header).json == {"received": True, "outcome": "ignored"}


# --- uploads and sessions -----------------------------------------------------------------------


def test_a_poster_is_judged_by_its_content_not_its_name(app, client, db, login_as, cast):
    before = cast.series.poster_path
    stored = set(MediaStorage.from_app().root.rglob("*"))
    log_in(client, login_as, cast.creator)
    for name, content in (
        ("poster.png", b"<html><script>alert(1)</script></html>"),
        ("poster.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("poster.jpg", b"GIF89a" + b"\0" * 64),
    ):
        response = client.post(
            f"/studio/series/{cast.series.id}/edit",
            data={"title": "Night", "language": "en", "poster": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, name
    db.session.expire_all()
    assert cast.series.poster_path == before
    assert set(MediaStorage.from_app().root.rglob("*")) == stored


def test_a_manifest_split_row_cannot_name_a_user_object(client, db, login_as, cast):
    manifest = {
        "title": "Imported",
        "episodes": [{"title": "One", "media": "https://cdn.example.test/one.mp4"}],
        "split": [{"user": cast.other_participant.email, "email": "a@example.com",
                   "role": "actor", "credit_name": "A", "bps": 10000}],
    }  # fmt: skip
    count = select(func.count()).select_from(Series)
    before = db.session.scalar(count)
    log_in(client, login_as, cast.creator)
    response = client.post(
        "/studio/import",
        data={"manifest": (io.BytesIO(json.dumps(manifest).encode()), "series.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert db.session.scalar(count) == before


def test_changing_the_password_ends_the_other_sessions(app, client, db, login_as, cast):
    log_in(client, login_as, cast.participant)
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get("/earnings/").status_code == 200
    new = "a brand new password"
    changed = client.post(
        "/auth/password", data={"current_password": PASSWORD, "new_password": new, "confirm": new}
    )
    assert changed.status_code == 302
    assert goes_to_login(copied.get("/earnings/"), "/earnings/")
    assert client.get("/earnings/").status_code == 200  # the session that changed it goes on
