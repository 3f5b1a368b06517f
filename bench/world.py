"""A partner app and live series with split teams, loaded straight into a database: the world
of bench/ingest.py and of the gunicorn crash test (tests/api/test_crash.py).

    partner_id, key_id, secret, series = build_world(url, config, series_count=50, ...)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class WorldSeries:
    """One live series: its id, free episodes, team members (ids) and their bps."""

    id: int
    free_episodes: int
    member_ids: tuple[int, ...]
    bps: tuple[int, ...]


def build_world(
    url: str,
    config: dict | None = None,
    *,
    name: str = "BenchBox",
    series_count: int = 50,
    episodes: int = 80,
    free_episodes: int = 5,
    team_bps: Callable[[int], Sequence[int]] = lambda n: (5000, 3000, 2000),
    days_live: int = 30,
    plan_tiers: int = 0,
    tier_cost: int = 5_000,
) -> tuple[int, str, str, list[WorldSeries]]:
    """Create one USD partner app (30 % share, 7 hold days) and `series_count` live series of
    `episodes` episodes, price 99, each with a team splitting by team_bps(n) (bps summing to
    10,000) under a 10 % platform fee; returns (partner id, key id, secret, series).

    plan_tiers > 0: every series also has an active revenue plan in force from the start with
    that many recoupment tiers, tier k repaying `tier_cost` to member k (mod the team; tier 2
    at a 110 % premium) before the split, which the team has accepted."""
    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.extensions import db
    from marketplace.partners.services import create_partner
    from marketplace.splits.models import (
        PlanHolder,
        PlanShare,
        PlanTier,
        RevenuePlan,
        SplitShare,
        SplitVersion,
        TeamMember,
    )
    from marketplace.studio.models import Episode, Listing, Series

    app = create_app({**(config or {}), "SQLALCHEMY_DATABASE_URI": url})
    start = datetime.now(UTC) - timedelta(days=days_live)
    world = []
    with app.app_context():
        partner, key_id, secret = create_partner(
            db.session, name=name, currency="USD", share_bps=3000, hold_days=7
        )
        owner = User(email=f"{name.lower()}@example.test", role="creator", password_hash="x")
        db.session.add(owner)
        db.session.flush()
        for n in range(series_count):
            series = Series(
                owner_id=owner.id,
                title=f"Series {n}",
                status="published",
                episode_price=99,
                currency="USD",
                free_episodes=free_episodes,
            )
            db.session.add(series)
            db.session.flush()
            series.episodes = [
                Episode(number=e, title=f"E{e}", media_url="https://x.test/v.mp4")
                for e in range(1, episodes + 1)
            ]
            bps = tuple(team_bps(n))
            members = [
                TeamMember(
                    series_id=series.id,
                    email=f"m{n}-{i}@example.test",
                    credit_name=f"M{i}",
                    role="actor",
                )
                for i in range(len(bps))
            ]
            db.session.add_all(members)
            db.session.flush()
            version = SplitVersion(
                series_id=series.id, number=1, platform_fee_bps=1000, effective_from=start
            )
            version.shares = [
                SplitShare(member_id=m.id, bps=b) for m, b in zip(members, bps, strict=True)
            ]
            db.session.add_all(
                [version, Listing(series_id=series.id, partner_id=partner.id, live_at=start)]
            )
            if plan_tiers:
                plan = RevenuePlan(
                    series_id=series.id, number=1, currency="USD", effective_from=start,
                    status="active", decided_at=start,
                )  # fmt: skip
                plan.tiers = [
                    PlanTier(
                        position=k,
                        premium_bps=11_000 if k == 2 else 10_000,
                        holders=[
                            PlanHolder(
                                member_id=members[(k - 1) % len(members)].id, amount=tier_cost
                            )
                        ],
                    )
                    for k in range(1, plan_tiers + 1)
                ]
                plan.shares = [
                    PlanShare(member_id=m.id, bps=b) for m, b in zip(members, bps, strict=True)
                ]
                db.session.add(plan)
            world.append(WorldSeries(series.id, free_episodes, tuple(m.id for m in members), bps))
        db.session.commit()
        partner_id = partner.id
        db.engine.dispose()
    return partner_id, key_id, secret, world
