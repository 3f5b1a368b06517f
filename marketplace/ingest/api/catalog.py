"""The catalogue a partner app syncs: its live series, with signed, expiring media links."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session, selectinload

from marketplace.errors import ServiceError
from marketplace.partners.models import PartnerApp
from marketplace.studio.models import Listing, Series

MEDIA_SALT = "cliffhanger-partner-media"


def media_signer() -> URLSafeTimedSerializer:
    """The serializer that signs media links (SECRET_KEY, a salt of their own)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=MEDIA_SALT)


def media_link(kind: str, object_id: int, partner_id: int) -> str:
    """An absolute, signed, expiring link to an episode's video ("e") or a poster ("p"), for
    one partner app: it stops working when the series is withdrawn from that app."""
    token = media_signer().dumps([kind, object_id, partner_id])
    base = current_app.config.get("SERVER_NAME_FOR_LINKS", "").rstrip("/")
    return f"{base}/api/v1/media/{token}"


def encode_cursor(moment: datetime, series_id: int) -> str:
    """An opaque cursor after (updated_at, id)."""
    raw = json.dumps([moment.isoformat(), series_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (updated_at, id) a cursor points after; ServiceError if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, series_id = json.loads(raw)
        parsed = datetime.fromisoformat(moment)
        # A tampered cursor must not reach the query: an id beyond series.id's 32-bit integer
        # (PostgreSQL refuses it, SQLite overflows past 64 bits) or a time whose UTC form
        # leaves datetime's range.
        if parsed.tzinfo is None or type(series_id) is not int or not 0 <= series_id < 2**31:
            raise ValueError(cursor)
        return parsed.astimezone(UTC), series_id
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError, RecursionError):
        raise ServiceError("This cursor is not one we gave.", field="cursor") from None


def _price(amount: int | None, currency: str) -> dict | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def _episode(episode, partner_id: int) -> dict:
    if episode.media_url:
        link = episode.media_url
    elif episode.media_path:
        link = media_link("e", episode.id, partner_id)
    else:
        link = None
    return {
        "number": episode.number,
        "title": episode.title,
        "duration_seconds": episode.duration_seconds,
        "media_url": link,
    }


def catalog_page(
    session: Session,
    partner: PartnerApp,
    *,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> dict:
    """One page of the partner's live series, by (updated_at, id); updated_at counts the
    listing going live too, so an incremental sync sees newly listed series.

    With updated_since, a series withdrawn from this partner app since then comes back as
    `{"id", "status": "withdrawn", "withdrawn_at", "updated_at"}`, so an incremental sync
    learns to take it down (a full sync simply no longer lists it).
    """
    withdrawn = Listing.status == "withdrawn"
    changed = case(
        (withdrawn, Listing.withdrawn_at),
        (Listing.live_at > Series.updated_at, Listing.live_at),
        else_=Series.updated_at,
    ).label("changed")
    live = and_(Listing.status == "live", Series.status == "published")
    query = (
        select(Series, changed, Listing.status, Listing.withdrawn_at)
        .join(Listing, Listing.series_id == Series.id)
        .options(selectinload(Series.episodes))
        .where(Listing.partner_id == partner.id)
        .order_by(changed, Series.id)
        .limit(limit + 1)
    )
    if updated_since is None:
        query = query.where(live)
    else:
        query = query.where(
            or_(
                and_(live, or_(Series.updated_at > updated_since, Listing.live_at > updated_since)),
                and_(withdrawn, Listing.withdrawn_at > updated_since),
            )
        )
    if cursor:
        moment, series_id = decode_cursor(cursor)
        query = query.where(or_(changed > moment, and_(changed == moment, Series.id > series_id)))
    rows = session.execute(query).all()
    page = rows[:limit]
    series = [
        _series(s, moment, partner.id)
        if status == "live"
        else _withdrawn(s.id, withdrawn_at, moment)
        for s, moment, status, withdrawn_at in page
    ]
    more = len(rows) > limit
    return {
        "series": series,
        "next_cursor": encode_cursor(page[-1][1], page[-1][0].id) if more else None,
    }


def _series(s: Series, moment: datetime, partner_id: int) -> dict:
    return {
        "id": s.id,
        "status": "live",
        "title": s.title,
        "language": s.language,
        "original_series_id": s.original_series_id,
        "synopsis": s.synopsis,
        "poster_url": media_link("p", s.id, partner_id) if s.poster_path else None,
        "free_episodes": s.free_episodes,
        "episode_price": _price(s.episode_price, s.currency),
        "bundle_price": _price(s.bundle_price, s.currency),
        "episodes": [_episode(e, partner_id) for e in s.episodes],
        "updated_at": moment.isoformat(),
    }


def _withdrawn(series_id: int, withdrawn_at: datetime, moment: datetime) -> dict:
    return {
        "id": series_id,
        "status": "withdrawn",
        "withdrawn_at": withdrawn_at.isoformat(),
        "updated_at": moment.isoformat(),
    }
