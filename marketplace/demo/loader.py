"""Demo data so `make run` has a product to click through.

Built only through the real services (partners, studio, partner ingestion, payouts), so the
demo exercises what users do. Idempotent: every step looks for what it would create (by
email, partner name, series title, event id, payout period) and skips what exists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Role, User
from marketplace.demo.payouts import load_payouts
from marketplace.ingest.models import PartnerEvent
from marketplace.ingest.poster import post_pending
from marketplace.ingest.refunds import RefundIn, ingest_refunds
from marketplace.ingest.unlocks import UnlockIn, ingest_unlocks
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import create_partner
from marketplace.publishing.services import publish_series
from marketplace.splits.invitations import accept_membership, resend_invitation
from marketplace.splits.services import save_split
from marketplace.studio.models import Series
from marketplace.studio.series import (
    add_episode,
    create_localized_version,
    create_series,
    set_pricing,
)

DEMO_PASSWORD = "demo-password"  # noqa: S105 - demo only, printed by `make run`
HISTORY_DAYS = 60

DEMO_USERS = [
    (Role.ADMIN, "admin@example.com", "Ada Admin"),
    (Role.CREATOR, "maya@example.com", "Maya Reyes"),
    (Role.CREATOR, "jun@example.com", "Jun Park"),
    (Role.CREATOR, "lola@example.com", "Lola Diaz"),
    (Role.PARTICIPANT, "writer@example.com", "Sam Okafor"),
    (Role.PARTICIPANT, "actor@example.com", "Alex Moreau"),
    (Role.PARTICIPANT, "director@example.com", "Dee Tanaka"),
]
PENDING_INVITEE = "newcomer@example.com"  # invited, never signed up: their share stays in escrow

PARTNERS = [
    # name, currency, partner share bps, hold days, demo unlock price (minor units)
    ("ReelBox", "USD", 3000, 7, 49),
    ("DramaLoop", "EUR", 2500, 14, 45),
]


@dataclass(frozen=True)
class SeriesSpec:
    """A demo series: owner, title, genres, episodes, price, split rows, popularity."""

    owner: str
    title: str
    synopsis: str
    genres: tuple[str, ...]
    episodes: int
    free: int
    price: int
    split: tuple[tuple[str, str, str, int], ...]  # (email, role, credit name, bps)
    unlocks: int


SERIES = [
    SeriesSpec(
        "maya@example.com",
        "Married to My Rival's Billionaire Brother",
        "A wedding planner wakes up engaged to the one man her rival wants.",
        ("romance", "drama"),
        24,
        6,
        49,
        (
            ("writer@example.com", "writer", "Sam Okafor", 3000),
            ("actor@example.com", "actor", "Alex Moreau", 4000),
            ("director@example.com", "director", "Dee Tanaka", 2000),
            ("maya@example.com", "producer", "Maya Reyes", 1000),
        ),
        900,
    ),
    SeriesSpec(
        "maya@example.com",
        "The Midnight Heir",
        "Every night at midnight the heir forgets who he married.",
        ("mystery", "romance"),
        18,
        5,
        39,
        (
            ("writer@example.com", "writer", "Sam Okafor", 3500),
            ("actor@example.com", "actor", "Alex Moreau", 3500),
            (PENDING_INVITEE, "actor", "Noor Haddad", 3000),
        ),
        600,
    ),
    SeriesSpec(
        "jun@example.com",
        "Contract Wife, Secret Queen",
        "She signed a one-year marriage contract. He never read page two.",
        ("romance",),
        20,
        8,
        59,
        (
            ("writer@example.com", "writer", "Sam Okafor", 2500),
            ("actor@example.com", "actor", "Alex Moreau", 5000),
            ("jun@example.com", "producer", "Jun Park", 2500),
        ),
        700,
    ),
    SeriesSpec(
        "jun@example.com",
        "Alpha of the Northern Pack",
        "A werewolf prince hides from the pack he is destined to lead.",
        ("fantasy", "romance"),
        16,
        5,
        45,
        (
            ("director@example.com", "director", "Dee Tanaka", 4000),
            ("jun@example.com", "producer", "Jun Park", 6000),
        ),
        400,
    ),
    SeriesSpec(
        "lola@example.com",
        "Revenge in Red Heels",
        "Fired on live TV, a stylist returns as the network's new owner.",
        ("revenge", "drama"),
        22,
        6,
        55,
        (
            ("writer@example.com", "writer", "Sam Okafor", 4000),
            ("lola@example.com", "producer", "Lola Diaz", 6000),
        ),
        500,
    ),
]
SPANISH = ("Casada con el hermano multimillonario de mi rival", "es")
COUNTRIES = ("US", "US", "US", "GB", "CA", "PH", "PH", "MX", "ES", "IN")


def ensure_user(session: Session, role: str, email: str, name: str) -> User:
    """The demo user with this email, created if missing."""
    user = accounts.find_user_by_email(session, email)
    if user is None:
        user = accounts.register_user(
            session, email=email, password=DEMO_PASSWORD, role=role, display_name=name
        )
    return user


def _demo_user(session: Session, email: str) -> User:
    """A demo user, made by ensure_user before anything that needs one."""
    user = accounts.find_user_by_email(session, email)
    assert user is not None, email
    return user


def ensure_partners(session: Session) -> list[PartnerApp]:
    """The two demo partner apps (different currencies and shares)."""
    partners = []
    for name, currency, share, hold, _ in PARTNERS:
        partner = session.scalar(select(PartnerApp).where(PartnerApp.name == name))
        if partner is None:
            partner, _, _ = create_partner(
                session, name=name, currency=currency, share_bps=share, hold_days=hold
            )
        partners.append(partner)
    return partners


def _split_rows(spec_rows) -> list[dict]:
    return [
        {"email": email, "role": role, "credit_name": credit, "bps": bps}
        for email, role, credit, bps in spec_rows
    ]


def _accept_registered(session: Session, version, now: datetime) -> None:
    """Team members who have accounts accept; the invitee without one stays in escrow."""
    for share in version.shares:
        member = share.member
        user = accounts.find_user_by_email(session, member.email)
        if user is not None and member.accepted_at is None:
            accept_membership(session, member, user, now=now)
    session.commit()


def ensure_series(session: Session, spec: SeriesSpec, partners, start: datetime) -> Series:
    """One published demo series with episodes, pricing and a split (backdated to `start`)."""
    owner = _demo_user(session, spec.owner)
    series = session.scalar(
        select(Series).where(Series.owner_id == owner.id, Series.title == spec.title)
    )
    if series is not None:
        return series
    series = create_series(
        session,
        owner,
        title=spec.title,
        synopsis=spec.synopsis,
        genres=spec.genres,
        tags=("vertical", "cliffhanger"),
        currency="USD",
    )
    _fill_series(session, series, owner, spec, partners, start)
    return series


def _fill_series(session, series, owner, spec: SeriesSpec, partners, start) -> None:
    for number in range(1, spec.episodes + 1):
        add_episode(
            session,
            series,
            title=f"Episode {number}",
            duration_seconds=80 + number % 20,
            media_url=f"https://media.example.com/{series.id}/ep{number}.mp4",
        )
    set_pricing(session, series, free_episodes=spec.free, episode_price=spec.price)
    version = save_split(
        session,
        series,
        owner,
        _split_rows(spec.split),
        platform_fee_bps=current_app.config["PLATFORM_FEE_BPS"],
        now=start,
    )
    _accept_registered(session, version, start)
    for share in version.shares:  # the invitee without an account: a fresh, unexpired link
        if share.member.accepted_at is None:
            resend_invitation(
                session, share.member, owner, now=datetime.now(UTC) - timedelta(days=3)
            )
    session.commit()
    publish_series(session, series, owner, partners, now=start)


def ensure_spanish_version(session: Session, original: Series, partners, start) -> Series:
    """The Spanish version of the first series, with its own cast and split."""
    title, language = SPANISH
    existing = session.scalar(select(Series).where(Series.original_series_id == original.id))
    if existing is not None:
        return existing
    owner = session.get_one(User, original.owner_id)
    spanish = create_localized_version(session, original, owner, language=language, title=title)
    spec = SeriesSpec(
        owner.email,
        title,
        spanish.synopsis,
        (),
        24,
        6,
        49,
        (
            ("writer@example.com", "writer", "Sam Okafor", 3000),
            ("director@example.com", "actor", "Dee Tanaka", 5000),
            (owner.email, "producer", owner.display_name, 2000),
        ),
        300,
    )
    _fill_series(session, spanish, owner, spec, [partners[0]], start)
    return spanish


def _episode_for(rng: random.Random, spec_free: int, episodes: int) -> int:
    """Paid episodes, with the drop-off curve of a real series (early episodes sell most)."""
    paid = list(range(spec_free + 1, episodes + 1))
    weights = [0.86**i for i in range(len(paid))]
    return rng.choices(paid, weights)[0]


def load_revenue(session: Session, partners, catalogue, start: datetime, now: datetime) -> int:
    """A few thousand signed-off unlocks (and some refunds) over the last 60 days."""
    # Loaded once: the demo's own apps already reported (other apps' events don't count).
    demo_partner_ids = [partner.id for partner in partners]
    if session.scalar(
        select(func.count())
        .select_from(PartnerEvent)
        .where(PartnerEvent.partner_id.in_(demo_partner_ids))
    ):
        return 0
    rng = random.Random(20261121)
    total = 0
    for index, (partner, (_, _, _, _, price)) in enumerate(zip(partners, PARTNERS, strict=True)):
        unlocks = []
        for series, spec in catalogue:
            if index == 1 and series.original_series_id is not None:
                continue  # the Spanish version is only on ReelBox
            count = spec.unlocks // (1 if index == 0 else 3)
            for n in range(count):
                moment = start + timedelta(
                    seconds=rng.randrange(int((now - start).total_seconds()))
                )
                unlocks.append(
                    UnlockIn(
                        id=f"demo-{series.id}-{n}",
                        series_id=series.id,
                        episode=_episode_for(rng, spec.free, spec.episodes),
                        amount=price,
                        currency=partner.currency,
                        occurred_at=moment,
                        country=rng.choice(COUNTRIES),
                        viewer=f"viewer-{rng.randrange(5000)}",
                    )
                )
        unlocks.sort(key=lambda u: u.occurred_at)
        for offset in range(0, len(unlocks), 1000):
            ingest_unlocks(session, partner, unlocks[offset : offset + 1000], now=now)
        refunds = [
            RefundIn(
                id=f"demo-refund-{u.id}",
                unlock_id=u.id,
                occurred_at=min(u.occurred_at + timedelta(hours=20), now),
                reason="charge disputed",
            )
            for u in unlocks
            if rng.random() < 0.02
        ]
        ingest_refunds(session, partner, refunds, now=now)
        total += len(unlocks)
    # What the ledger poster process does as events arrive: the payouts below need the money.
    post_pending(session, now=now)
    return total


def load_demo_data(session: Session) -> list[tuple[str, str]]:
    """Create the demo (users, partner apps, 6 series, 60 days of money, a paid batch)."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=HISTORY_DAYS + 1)
    for role, email, name in DEMO_USERS:
        ensure_user(session, role, email, name)
    partners = ensure_partners(session)
    catalogue = [(ensure_series(session, spec, partners, start), spec) for spec in SERIES]
    spanish = ensure_spanish_version(session, catalogue[0][0], partners, start)
    catalogue.append((spanish, SERIES[0]))
    load_revenue(session, partners, catalogue, start, now)
    load_payouts(session, now)
    return [(str(role), email) for role, email, _ in DEMO_USERS]
