"""Series, their episodes, and their listings on partner apps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.schema import UTCDateTime
from marketplace.clock import utcnow
from marketplace.extensions import Model

if TYPE_CHECKING:
    from marketplace.partners.models import PartnerApp


class Series(Model):
    """A vertical series owned by a creator.

    Fields: owner_id (the creator), title, synopsis, language (BCP 47, e.g. "en", "es"),
    genres and tags (JSON lists of strings), poster_path (storage key or NULL), status (draft,
    published, withdrawn), original_series_id (set on a localized version), free_episodes
    (the first N episodes are free), episode_price (integer minor units of `currency`, per paid
    episode), bundle_price (optional, whole series), currency (ISO 4217).
    """

    __tablename__ = "series"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name="status_known"),
        CheckConstraint("free_episodes >= 0", name="free_episodes_nonnegative"),
        CheckConstraint(
            "episode_price IS NULL OR episode_price > 0", name="episode_price_positive"
        ),
        CheckConstraint("bundle_price IS NULL OR bundle_price > 0", name="bundle_price_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    synopsis: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(20), default="en")
    genres: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    poster_path: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    original_series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    free_episodes: Mapped[int] = mapped_column(Integer, default=5)
    episode_price: Mapped[int | None] = mapped_column(BigInteger)
    bundle_price: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    episodes: Mapped[list[Episode]] = relationship(
        back_populates="series", order_by="Episode.number", cascade="all, delete-orphan"
    )
    listings: Mapped[list[Listing]] = relationship(back_populates="series", order_by="Listing.id")


class Episode(Model):
    """Episode `number` (1..N) of a series, with its video: an upload or an https URL.

    Fields: number, title, duration_seconds, media_path (storage key of an upload),
    media_url (https URL the creator hosts), media_type (mp4, mov or webm, from the content),
    media_bytes (size of an upload), media_width and media_height (pixels as shown, read from an
    upload by ffprobe; NULL for links and uploads stored before they were read).
    """

    __tablename__ = "episodes"
    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds > 0", name="duration_positive"
        ),
        CheckConstraint("media_path IS NULL OR media_url IS NULL", name="one_media_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    media_path: Mapped[str | None] = mapped_column(String(300))
    media_url: Mapped[str | None] = mapped_column(String(1000))
    media_type: Mapped[str | None] = mapped_column(String(10))
    media_bytes: Mapped[int | None] = mapped_column(BigInteger)
    media_width: Mapped[int | None] = mapped_column(Integer)
    media_height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    series: Mapped[Series] = relationship(back_populates="episodes")

    @property
    def landscape(self) -> bool:
        """An uploaded video wider than tall (micro dramas are vertical: a warning, not a rule)."""
        width, height = self.media_width, self.media_height
        return bool(width and height and width >= height)

    @property
    def has_media(self) -> bool:
        """Whether a viewer could watch it."""
        return bool(self.media_path or self.media_url)


class Listing(Model):
    """A series published on one partner app; withdrawing stops new unlocks.

    Fields: status (live, withdrawn), live_at (when it went live), withdrawn_at.
    An unlock is accepted when live_at <= occurred_at and (withdrawn_at IS NULL or
    occurred_at < withdrawn_at).
    """

    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("series_id", "partner_id"),
        CheckConstraint("status IN ('live', 'withdrawn')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_apps.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="live")
    live_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    series: Mapped[Series] = relationship(back_populates="listings")
    partner: Mapped[PartnerApp] = relationship()
    earlier_windows: Mapped[list[ListingWindow]] = relationship(
        order_by="ListingWindow.live_at", cascade="all, delete-orphan"
    )


class FreeEpisodesChange(Model):
    """A change of a series' free episodes: the number before it and when it changed.

    An unlock reported late is judged by the free episodes in force when it happened (its
    episode may have been paid then and free now); before the earliest change recorded here,
    the number is that change's free_before, after the latest, Series.free_episodes."""

    __tablename__ = "free_episodes_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    free_before: Mapped[int] = mapped_column(Integer)


class ListingWindow(Model):
    """An earlier live window of a listing, kept when a withdrawn listing goes live again:
    unlocks and pools from it may still be reported late (live_at <= occurred_at <
    withdrawn_at), and the listing's own live_at and withdrawn_at hold only the latest."""

    __tablename__ = "listing_windows"
    __table_args__ = (CheckConstraint("live_at < withdrawn_at", name="window_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    live_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
