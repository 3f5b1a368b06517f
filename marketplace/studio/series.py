"""Use cases for a creator's series: details, poster, pricing, episodes, localized versions.

Owners only: look-ups for someone else's series or episode raise NotFound (a 404, so nobody
learns what exists). Files are stored before the database change and removed again when the
change does not commit, so a rejected request leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.errors import Conflict, NotFound, Problem, raise_problems
from marketplace.studio.models import Episode, FreeEpisodesChange, Series
from marketplace.studio.rules import (
    clean_words,
    currency_problems,
    episode_problems,
    media_url_problems,
    pricing_problems,
    series_problems,
)
from marketplace.studio.storage import MediaRejected, MediaStorage, StoredFile


def get_owned_series(session: Session, series_id: int, user: User) -> Series:
    """The series if `user` owns it; NotFound otherwise (also for other creators' series)."""
    series = session.get(Series, series_id)
    if series is None or series.owner_id != user.id:
        raise NotFound("No such series.")
    return series


def get_owned_episode(session: Session, episode_id: int, user: User) -> Episode:
    """The episode if `user` owns its series; NotFound otherwise."""
    episode = session.get(Episode, episode_id)
    if episode is None or episode.series.owner_id != user.id:
        raise NotFound("No such episode.")
    return episode


def list_owned_series(session: Session, user: User) -> list[Series]:
    """The creator's series, newest first."""
    return list(
        session.scalars(select(Series).where(Series.owner_id == user.id).order_by(Series.id.desc()))
    )


def build_series(
    owner: User,
    *,
    title: str,
    synopsis: str = "",
    language: str = "en",
    genres: Sequence[str] = (),
    tags: Sequence[str] = (),
    currency: str = "USD",
) -> Series:
    """A new draft series after checking its fields (not added to a session)."""
    genres, tags = clean_words(genres), clean_words(tags)
    raise_problems(
        series_problems(title=title, language=language, synopsis=synopsis, genres=genres, tags=tags)
        + currency_problems(currency)
    )
    return Series(
        owner_id=owner.id,
        title=title.strip(),
        synopsis=synopsis.strip(),
        language=language.strip(),
        genres=genres,
        tags=tags,
        currency=currency.upper(),
        status="draft",
    )


def create_series(session: Session, owner: User, **fields) -> Series:
    """Create a draft series owned by `owner` (fields as in build_series)."""
    series = build_series(owner, **fields)
    session.add(series)
    session.commit()
    return series


def edit_series(
    session: Session,
    series: Series,
    *,
    title: str,
    synopsis: str,
    language: str,
    genres: Sequence[str],
    tags: Sequence[str],
    poster: BinaryIO | None = None,
    storage: MediaStorage | None = None,
) -> Series:
    """Change a series' descriptive fields and, when one is given, replace its poster.

    All or nothing: every field and the poster's content are checked before anything is
    stored, and the old poster file is removed only once the change has committed.
    """
    genres, tags = clean_words(genres), clean_words(tags)
    problems = series_problems(
        title=title, language=language, synopsis=synopsis, genres=genres, tags=tags
    )
    if poster is not None:
        if storage is None:
            raise ValueError("a poster needs a media storage")
        try:
            storage.check(poster, kind="image", field="poster")
        except MediaRejected as error:
            problems.append(("poster", error.message))
    raise_problems(problems)
    series.title, series.synopsis = title.strip(), synopsis.strip()
    series.language, series.genres, series.tags = language.strip(), genres, tags
    stored, old_poster = None, None
    if poster is not None:
        assert storage is not None  # refused above
        stored, old_poster = _swap_poster(series, poster, storage)
    _commit_or_discard(session, storage, stored)
    if old_poster and storage is not None:
        storage.delete(old_poster)
    return series


def set_poster(session: Session, series: Series, upload: BinaryIO, storage: MediaStorage) -> Series:
    """Store a poster image (PNG, JPEG or WebP by content) and replace the old one."""
    stored, old = _swap_poster(series, upload, storage)
    _commit_or_discard(session, storage, stored)
    storage.delete(old)
    return series


def _swap_poster(
    series: Series, upload: BinaryIO, storage: MediaStorage
) -> tuple[StoredFile, str | None]:
    """Store `upload` as the series' poster (not committed); returns it and the old key, which
    the caller deletes once the change has committed."""
    stored = storage.save(upload, folder=f"posters/{series.id}", kind="image", field="poster")
    old, series.poster_path = series.poster_path, stored.key
    return stored, old


def set_pricing(
    session: Session,
    series: Series,
    *,
    free_episodes: int,
    episode_price: int,
    bundle_price: int | None = None,
    currency: str | None = None,
) -> Series:
    """Set the first N free episodes, the per-episode price and an optional bundle price."""
    currency = (currency or series.currency).upper()
    raise_problems(
        pricing_problems(
            free_episodes=free_episodes,
            episode_price=episode_price,
            bundle_price=bundle_price,
            currency=currency,
        )
    )
    if series.listings and series.free_episodes != free_episodes:
        # Unlocks reported late are judged by the free episodes in force when they happened
        # (before a series is first listed there are no unlocks to judge).
        session.add(
            FreeEpisodesChange(
                series_id=series.id, changed_at=datetime.now(UTC), free_before=series.free_episodes
            )
        )
    series.free_episodes, series.episode_price = free_episodes, episode_price
    series.bundle_price, series.currency = bundle_price, currency
    session.commit()
    return series


def _episode_media_problems(upload: BinaryIO | None, media_url: str | None) -> list[Problem]:
    if upload is not None and media_url:
        return [("media", "Upload a file or give a link, not both.")]
    return media_url_problems(media_url) if media_url else []


def _commit_or_discard(
    session: Session, storage: MediaStorage | None, stored: StoredFile | None
) -> None:
    """Commit; if that fails, roll back and remove the file stored for this change (from
    `storage`, which a change that stored a file always has)."""
    try:
        session.commit()
    except BaseException:
        session.rollback()
        if stored is not None and storage is not None:
            storage.delete(stored.key)
        raise


def _touch(series: Series) -> None:
    """Mark the series changed: partners' incremental catalogue sync reads Series.updated_at,
    and an episode change (added, retitled, new media, moved, deleted) changes what they list.
    The series row itself may not change, so its onupdate alone would not fire."""
    series.updated_at = datetime.now(UTC)


def next_episode_number(session: Session, series: Series) -> int:
    """The number the next added episode gets (N+1)."""
    current = session.scalar(select(func.max(Episode.number)).where(Episode.series_id == series.id))
    return (current or 0) + 1


def _checked_episode_media(
    series_id: int,
    title: str,
    duration_seconds: int | None,
    upload: BinaryIO | None,
    media_url: str | None,
    storage: MediaStorage | None,
) -> StoredFile | None:
    """Validate an episode's fields and media, then store the upload (if any)."""
    problems = episode_problems(title=title, duration_seconds=duration_seconds)
    problems += _episode_media_problems(upload, media_url)
    raise_problems(problems)
    if upload is None:
        return None
    if storage is None:
        raise ValueError("an upload needs a media storage")
    return storage.save(upload, folder=f"episodes/{series_id}")


def add_episode(
    session: Session,
    series: Series,
    *,
    title: str = "",
    duration_seconds: int | None = None,
    upload: BinaryIO | None = None,
    media_url: str | None = None,
    storage: MediaStorage | None = None,
) -> Episode:
    """Append episode N+1, with an uploaded video, an https link, or no media yet."""
    stored = _checked_episode_media(series.id, title, duration_seconds, upload, media_url, storage)
    episode = Episode(
        series_id=series.id,
        number=next_episode_number(session, series),
        title=title.strip(),
        duration_seconds=duration_seconds,
    )
    _apply_media(episode, stored, media_url)
    session.add(episode)
    _touch(series)
    _commit_or_discard(session, storage, stored)
    return episode


def _apply_media(episode: Episode, stored: StoredFile | None, media_url: str | None) -> None:
    if stored is not None:
        episode.media_path, episode.media_url = stored.key, None
        episode.media_type, episode.media_bytes = stored.media_type, stored.size
        episode.media_width, episode.media_height = stored.width, stored.height
        if stored.duration_seconds:  # the file's own duration wins over a typed one
            episode.duration_seconds = stored.duration_seconds
    elif media_url:
        episode.media_path, episode.media_url = None, media_url
        episode.media_type, episode.media_bytes = None, None
        episode.media_width, episode.media_height = None, None


def update_episode(
    session: Session,
    episode: Episode,
    *,
    title: str,
    duration_seconds: int | None,
    upload: BinaryIO | None = None,
    media_url: str | None = None,
    storage: MediaStorage | None = None,
) -> Episode:
    """Change an episode's title and duration, and replace its video when one is given."""
    stored = _checked_episode_media(
        episode.series_id, title, duration_seconds, upload, media_url, storage
    )
    old_key = episode.media_path if (stored or media_url) else None
    episode.title, episode.duration_seconds = title.strip(), duration_seconds
    _apply_media(episode, stored, media_url)
    _touch(episode.series)
    _commit_or_discard(session, storage, stored)
    if old_key and storage is not None:
        storage.delete(old_key)
    return episode


def reorder_episodes(session: Session, series: Series, ordered_ids: Sequence[int]) -> None:
    """Renumber a series' episodes 1..N in the given order (every episode exactly once)."""
    episodes = {e.id: e for e in series.episodes}
    if sorted(ordered_ids) != sorted(episodes):
        raise_problems([("order", "List every episode of the series exactly once.")])
    _renumber(session, [episodes[i] for i in ordered_ids])
    _touch(series)
    session.commit()


def _renumber(session: Session, episodes: Sequence[Episode]) -> None:
    # Two steps so the (series, number) unique constraint never sees two equal numbers.
    offset = max([e.number for e in episodes] + [len(episodes)]) + 1
    for position, episode in enumerate(episodes):
        episode.number = offset + position
    session.flush()
    for position, episode in enumerate(episodes, start=1):
        episode.number = position
    session.flush()


def move_episode(session: Session, episode: Episode, step: int) -> None:
    """Move an episode one place earlier (-1) or later (+1)."""
    order = [e.id for e in episode.series.episodes]
    i = order.index(episode.id)
    j = min(max(i + step, 0), len(order) - 1)
    order[i], order[j] = order[j], order[i]
    reorder_episodes(session, episode.series, order)


def delete_episode(session: Session, episode: Episode, storage: MediaStorage) -> None:
    """Remove an episode and its uploaded file; later episodes move up one number.

    Conflict when it would leave a series that is live on a partner app with nothing to watch
    (withdraw the series first, or add another video).
    """
    series = episode.series
    live = any(listing.status == "live" for listing in series.listings)
    if live and not any(e.has_media for e in series.episodes if e is not episode):
        raise Conflict(
            "This is the last video of a series that is live on partner apps: add another "
            "video or withdraw the series before deleting it."
        )
    key = episode.media_path
    series.episodes.remove(episode)
    session.flush()
    _renumber(session, list(series.episodes))
    _touch(series)
    session.commit()
    storage.delete(key)


def create_localized_version(
    session: Session, original: Series, actor: User, *, language: str, title: str | None = None
) -> Series:
    """A draft version of a series in another language, linked to the original.

    It copies the descriptive fields and pricing, and starts with no episodes and no split
    (the split page offers the original's writers as a default).
    """
    version = stage_localized_version(session, original, actor, language=language, title=title)
    session.commit()
    return version


def stage_localized_version(
    session: Session, original: Series, actor: User, *, language: str, title: str | None = None
) -> Series:
    """create_localized_version without the commit (a remake declares its royalties with it)."""
    wanted = language.strip().lower()
    if wanted == original.language.lower():
        raise_problems([("language", "Choose a language other than the original's.")])
    if any(v.language.lower() == wanted for v in localized_versions(session, original)):
        raise_problems([("language", f"This series already has a version in {wanted}.")])
    version = build_series(
        actor,
        title=title or f"{original.title} ({language})",
        synopsis=original.synopsis,
        language=language.strip(),
        genres=original.genres,
        tags=original.tags,
        currency=original.currency,
    )
    version.original_series_id = original.id
    version.free_episodes = original.free_episodes
    version.episode_price, version.bundle_price = original.episode_price, original.bundle_price
    session.add(version)
    session.flush()
    return version


def localized_versions(session: Session, series: Series) -> list[Series]:
    """The localized versions made from a series."""
    return list(
        session.scalars(
            select(Series).where(Series.original_series_id == series.id).order_by(Series.id)
        )
    )
