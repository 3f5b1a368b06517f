"""Publishing a series to partner apps, and withdrawing it.

A series can go live when it has at least one episode with media, a price per paid episode,
and a complete split (the current version adds up to 10000). Each partner app gets its own
Listing (live, withdrawn) with the moment it went live; the partner API accepts an unlock only
while its listing is live.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.audit import record_audit
from marketplace.errors import NotFound, ServiceError
from marketplace.formatting import format_money
from marketplace.partners.models import PartnerApp
from marketplace.splits.positions import describe_plan
from marketplace.splits.services import current_split, split_is_complete
from marketplace.studio.models import Listing, ListingWindow, Series


def publish_problems(session: Session, series: Series) -> list[str]:
    """What still stops a series from being published (empty when it can go live)."""
    problems = []
    if not any(episode.has_media for episode in series.episodes):
        problems.append("Add at least one episode with a video.")
    if not series.episode_price:
        problems.append("Set a price per paid episode.")
    if not split_is_complete(current_split(session, series)):
        problems.append("Complete the split sheet (shares adding up to 100%).")
    return problems


def active_partners(session: Session) -> list[PartnerApp]:
    """Partner apps a series can be published to, by name."""
    return list(
        session.scalars(
            select(PartnerApp).where(PartnerApp.active.is_(True)).order_by(PartnerApp.name)
        )
    )


def partners_named(session: Session, names: Sequence[str]) -> tuple[list[PartnerApp], list[str]]:
    """The active partner apps with these names, and the names that match none."""
    found = {p.name.lower(): p for p in active_partners(session)}
    partners, unknown = [], []
    for name in names:
        partner = found.get(str(name).strip().lower())
        if partner is None:
            unknown.append(str(name))
        elif partner not in partners:
            partners.append(partner)
    return partners, unknown


def stage_publish(
    session: Session,
    series: Series,
    actor: User | None,
    partners: Sequence[PartnerApp],
    *,
    now: datetime | None = None,
) -> list[Listing]:
    """Put a series live on partner apps in the session (the caller commits)."""
    now = now or datetime.now(UTC)
    if not partners:
        raise ServiceError("Choose at least one partner app.", field="partners")
    problems = publish_problems(session, series)
    if problems:
        raise ServiceError(" ".join(problems), field="partners", code="not_ready")
    inactive = [p.name for p in partners if not p.active]
    if inactive:
        raise ServiceError(f"Not an active partner app: {', '.join(inactive)}.", field="partners")
    existing = {listing.partner_id: listing for listing in series.listings}
    listings = []
    for partner in partners:
        listing = existing.get(partner.id)
        if listing is None:
            listing = Listing(series_id=series.id, partner_id=partner.id)
            series.listings.append(listing)
        if listing.status != "live" or listing.id is None:
            earlier = listing.live_at, listing.withdrawn_at
            if listing.id is not None and earlier[1] is not None and earlier[0] < earlier[1]:
                # Late reports from the window that ended still count: keep it.
                listing.earlier_windows.append(
                    ListingWindow(live_at=earlier[0], withdrawn_at=earlier[1])
                )
            listing.status, listing.live_at, listing.withdrawn_at = "live", now, None
        listings.append(listing)
    series.status = "published"
    session.flush()
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="series.publish",
        subject_type="series",
        subject_id=series.id,
        details={"partners": [p.name for p in partners]},
    )
    return listings


def publish_series(
    session: Session,
    series: Series,
    actor: User | None,
    partners: Sequence[PartnerApp],
    *,
    now: datetime | None = None,
) -> list[Listing]:
    """Publish a series to the chosen partner apps (one live listing each)."""
    listings = stage_publish(session, series, actor, partners, now=now)
    session.commit()
    return listings


def get_owned_listing(session: Session, listing_id: int, user: User) -> Listing:
    """A listing of a series `user` owns; NotFound otherwise."""
    listing = session.get(Listing, listing_id)
    if listing is None or listing.series.owner_id != user.id:
        raise NotFound("No such listing.")
    return listing


def withdraw_listing(
    session: Session, listing: Listing, actor: User | None, *, now: datetime | None = None
) -> Listing:
    """Withdraw a series from one partner app: new unlocks there are refused from now."""
    if listing.status == "withdrawn":
        return listing
    listing.status, listing.withdrawn_at = "withdrawn", now or datetime.now(UTC)
    series = listing.series
    if all(other.status == "withdrawn" for other in series.listings):
        series.status = "withdrawn"
    record_audit(
        session,
        actor_id=actor.id if actor else None,
        action="listing.withdraw",
        subject_type="listing",
        subject_id=listing.id,
        details={"series_id": series.id, "partner_id": listing.partner_id},
    )
    session.commit()
    return listing


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def describe_series(session: Session, series: Series) -> dict:
    """A series as plain data: fields, pricing, episodes, current split, listings (CLI/JSON)."""
    version = current_split(session, series)
    owner = session.get_one(User, series.owner_id)
    split = None
    if version is not None:
        split = {
            "version": version.number,
            "version_id": version.id,
            "effective_from": _iso(version.effective_from),
            "platform_fee_bps": version.platform_fee_bps,
            "participants": [
                {
                    "member_id": share.member_id,
                    "user_id": share.member.user_id,
                    "email": share.member.email,
                    "role": share.member.role,
                    "credit_name": share.member.credit_name,
                    "bps": share.bps,
                    "accepted": share.member.accepted,
                }
                for share in version.shares
            ],
        }
    plan = describe_plan(
        session, series.id, lambda amount: format_money(amount, series.currency, "en")
    )
    return {
        "id": series.id,
        "title": series.title,
        "owner": {"id": owner.id, "email": owner.email},
        "status": series.status,
        "language": series.language,
        "original_series_id": series.original_series_id,
        "genres": list(series.genres),
        "tags": list(series.tags),
        "pricing": {
            "currency": series.currency,
            "free_episodes": series.free_episodes,
            "episode_price": series.episode_price,
            "bundle_price": series.bundle_price,
        },
        "episodes": [
            {
                "number": e.number,
                "title": e.title,
                "duration_seconds": e.duration_seconds,
                "media_type": e.media_type,
                "media_url": e.media_url,
                "uploaded": e.media_path is not None,
            }
            for e in series.episodes
        ],
        "split": split,
        "revenue_plan": plan,
        "listings": [
            {
                "id": listing.id,
                "partner_id": listing.partner_id,
                "partner": listing.partner.name,
                "status": listing.status,
                "live_at": _iso(listing.live_at),
                "withdrawn_at": _iso(listing.withdrawn_at),
            }
            for listing in series.listings
        ],
    }
