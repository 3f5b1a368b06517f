"""Bulk import: a JSON manifest plus its files creates a whole series at once.

Everything is checked first (fields, pricing, split, every episode line and media file by
content, partner names) and every problem is reported with its field or CSV line; only when
nothing is wrong are the files stored and the series, episodes, split, revenue plan,
invitations and listings created, in one transaction. The format is documented in docs/manifest.md.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.errors import Problem, ValidationFailed
from marketplace.publishing.manifest_plan import plan_problems, stage_manifest_plan
from marketplace.publishing.services import partners_named, publish_problems, stage_publish
from marketplace.splits.services import stage_split, validate_split_rows
from marketplace.studio.models import Episode, Series
from marketplace.studio.rules import (
    episode_problems,
    media_url_problems,
    pricing_problems,
    series_problems,
)
from marketplace.studio.series import build_series
from marketplace.studio.storage import MediaRejected, MediaStorage, StoredFile

TOP_LEVEL = {
    "title", "synopsis", "language", "genres", "tags", "poster",
    "pricing", "split", "episodes", "publish_to", "revenue_plan",
}  # fmt: skip
SPLIT_FIELDS = {"email", "role", "credit_name", "bps"}
CSV_COLUMNS = ("title", "duration_seconds", "media")


class FileSource(Protocol):
    """Where a manifest's named files come from (uploaded with it, or next to it on disk)."""

    def open(self, name: str) -> contextlib.AbstractContextManager[BinaryIO] | None:
        """A seekable binary stream of the named file, or None when there is no such file."""


class UploadedFiles:
    """Files uploaded together with the manifest, matched by their base name."""

    def __init__(self, files: Mapping[str, BinaryIO]):
        self.files = {Path(name).name: stream for name, stream in files.items()}

    def open(self, name: str) -> contextlib.AbstractContextManager[BinaryIO] | None:
        """The uploaded stream, rewound (it stays open for the request)."""
        stream = self.files.get(Path(name).name)
        if stream is None:
            return None
        stream.seek(0)
        return contextlib.nullcontext(stream)


class DirectoryFiles:
    """Files named relative to the manifest's folder (the CLI)."""

    def __init__(self, base: Path):
        self.base = base

    def open(self, name: str) -> contextlib.AbstractContextManager[BinaryIO] | None:
        """The file opened for reading, or None if it does not exist or is not inside the
        manifest's folder."""
        # Resolved (symlinks, "..", absolute names) so a manifest can only name files under
        # its own folder, never other creators' media or anything else the server can read.
        base = self.base.resolve()
        try:
            path = (base / name).resolve()
        except (OSError, ValueError):  # e.g. a NUL byte in the name
            return None
        if base not in path.parents or not path.is_file():
            return None
        return path.open("rb")


@dataclass
class Plan:
    """A validated manifest, ready to create: the fields, and each episode's media source."""

    series: dict[str, Any]
    pricing: dict[str, Any] | None
    split: list[dict[str, Any]] | None
    episodes: list[dict[str, Any]] = field(default_factory=list)
    poster: str | None = None
    partners: list = field(default_factory=list)
    revenue_plan: dict[str, Any] | None = None


def parse_manifest(raw: bytes | str | Mapping) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The manifest's JSON object, or the problem that stops reading it."""
    if isinstance(raw, Mapping):
        return dict(raw), []
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        return None, [("manifest", f"The manifest is not valid JSON: {error}.")]
    except RecursionError:  # e.g. 50,000 nested arrays: no manifest nests deeper than 3
        return None, [("manifest", "The manifest is nested too deeply to be a manifest.")]
    if not isinstance(data, dict):
        return None, [("manifest", "The manifest must be a JSON object.")]
    return data, []


def _check_file(
    files: FileSource, storage: MediaStorage, name: Any, kind: str, where: str
) -> list[Problem]:
    if not isinstance(name, str) or not name:
        return [(where, "Name a file or give an https URL.")]
    opened = files.open(name)
    if opened is None:
        return [(where, f"File {name!r} was not provided.")]
    with opened as stream:
        try:
            storage.check(stream, kind=kind, field=where)
        except MediaRejected as error:
            return [(where, f"{name}: {error.message}")]
    return []


def _episode_rows(data: dict, files: FileSource) -> tuple[list[tuple[str, dict]], list[Problem]]:
    """(label, row) per episode, from the inline list or the named CSV file."""
    episodes = data.get("episodes")
    if isinstance(episodes, list):
        rows = [(f"episodes[{i}]", row) for i, row in enumerate(episodes)]
        bad = [
            (label, "Each episode must be an object.")
            for label, r in rows
            if not isinstance(r, dict)
        ]
        return [(label, r) for label, r in rows if isinstance(r, dict)], bad
    if not isinstance(episodes, str) or not episodes:
        return [], [("episodes", "List the episodes, or name a CSV file of them.")]
    opened = files.open(episodes)
    if opened is None:
        return [], [("episodes", f"File {episodes!r} was not provided.")]
    with opened as stream:
        try:
            text = stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [(episodes, "The CSV file must be UTF-8 text.")]
    try:
        return _csv_rows(episodes, text)
    except csv.Error as error:  # a field over csv's limit (128 KiB), a NUL, a bad quote
        return [], [(episodes, f"The CSV file cannot be read: {error}.")]


def _csv_rows(episodes: str, text: str) -> tuple[list[tuple[str, dict]], list[Problem]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("title", "media") if c not in (reader.fieldnames or [])]
    if missing:
        return [], [(f"{episodes} line 1", f"Missing column(s): {', '.join(missing)}.")]
    rows, problems = [], []
    for row in reader:
        label = f"{episodes} line {reader.line_num}"
        clean = {k: (v or "").strip() for k, v in row.items() if k in CSV_COLUMNS}
        duration = clean.get("duration_seconds") or None
        if duration is not None:
            try:
                clean["duration_seconds"] = int(duration)
            except ValueError:
                problems.append((f"{label}: duration_seconds", "Give whole seconds, e.g. 95."))
                continue
        else:
            clean["duration_seconds"] = None
        rows.append((label, clean))
    return rows, problems


def _episode_problems(
    rows: list[tuple[str, dict]], files: FileSource, storage: MediaStorage
) -> list[Problem]:
    problems: list[Problem] = []
    for label, row in rows:
        sep = ": " if " line " in label else "."
        problems += episode_problems(
            title=row.get("title", ""),
            duration_seconds=row.get("duration_seconds"),
            prefix=f"{label}{sep}",
        )
        media = row.get("media")
        where = f"{label}{sep}media"
        if isinstance(media, str) and media.lower().startswith(("http://", "https://")):
            problems += media_url_problems(media, where)
        else:
            problems += _check_file(files, storage, media, "video", where)
    return problems


def validate_manifest(
    session: Session, data: dict[str, Any], files: FileSource, storage: MediaStorage
) -> tuple[Plan | None, list[Problem]]:
    """Check a whole manifest; returns a plan when there is no problem, else every problem."""
    problems: list[Problem] = [
        (key, "Unknown field.") for key in sorted(data) if key not in TOP_LEVEL
    ]
    series = {
        "title": data.get("title"),
        "synopsis": data.get("synopsis", ""),
        "language": data.get("language", "en"),
        "genres": data.get("genres", []),
        "tags": data.get("tags", []),
    }
    problems += series_problems(**series)
    pricing = data.get("pricing")
    if pricing is not None:
        if not isinstance(pricing, dict):
            problems.append(("pricing", "Pricing must be an object."))
        else:
            pricing = {
                "currency": pricing.get("currency", "USD"),
                "free_episodes": pricing.get("free_episodes", 0),
                "episode_price": pricing.get("episode_price"),
                "bundle_price": pricing.get("bundle_price"),
            }
            problems += [(f"pricing.{f}", m) for f, m in pricing_problems(**pricing)]
    split = data.get("split")
    if split is not None:
        if not isinstance(split, list) or not all(isinstance(r, dict) for r in split):
            problems.append(("split", "The split must be a list of participant objects."))
        else:
            # Only the documented fields: the split service also takes a `user` object from
            # Python callers, which a JSON manifest must not reach.
            unknown_fields = [
                (f"split[{i}].{key}", "Unknown field.")
                for i, row in enumerate(split)
                for key in sorted(set(row) - SPLIT_FIELDS)
            ]
            problems += unknown_fields or validate_split_rows(split, prefix="split")
    revenue_plan = data.get("revenue_plan")
    if revenue_plan is not None:
        currency = pricing["currency"] if isinstance(pricing, dict) else "USD"
        problems += plan_problems(
            revenue_plan, split if isinstance(split, list) else None, currency
        )
    rows, row_problems = _episode_rows(data, files)
    problems += row_problems
    if not rows and not row_problems:
        problems.append(("episodes", "Add at least one episode."))
    problems += _episode_problems(rows, files, storage)
    poster = data.get("poster")
    if poster is not None:
        problems += _check_file(files, storage, poster, "image", "poster")
    publish_to = data.get("publish_to") or []
    partners: list = []
    if not isinstance(publish_to, list):
        problems.append(("publish_to", "List partner app names."))
    else:
        partners, unknown = partners_named(session, publish_to)
        problems += [("publish_to", f"No active partner app named {n!r}.") for n in unknown]
        if publish_to and (pricing is None or split is None):
            problems.append(("publish_to", "Publishing needs pricing and a split."))
    if problems:
        return None, problems
    episodes = [row for _, row in rows]
    return Plan(series, pricing, split, episodes, poster, partners, revenue_plan), []


@contextlib.contextmanager
def _stored_files(storage: MediaStorage) -> Iterator[list[StoredFile]]:
    """Collects files stored for an import; removes them all if the import fails."""
    stored: list[StoredFile] = []
    try:
        yield stored
    except BaseException:
        for item in stored:
            storage.delete(item.key)
        raise


def import_manifest(
    session: Session,
    manifest: bytes | str | Mapping,
    files: FileSource,
    owner: User,
    *,
    storage: MediaStorage,
    platform_fee_bps: int,
    now: datetime | None = None,
) -> Series:
    """Create a series from a manifest, all or nothing; ValidationFailed lists every problem."""
    now = now or datetime.now(UTC)
    data, problems = parse_manifest(manifest)
    if data is None:
        raise ValidationFailed(problems)
    plan, problems = validate_manifest(session, data, files, storage)
    if plan is None:
        raise ValidationFailed(problems)
    try:
        with _stored_files(storage) as stored:
            series = _create(session, plan, files, owner, storage, stored, platform_fee_bps, now)
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return series


def _store(files: FileSource, storage: MediaStorage, name: str, folder: str, kind: str):
    opened = files.open(name)
    assert opened is not None, "checked by validate_manifest"
    with opened as stream:
        return storage.save(stream, folder=folder, kind=kind, field=name)


def _create(session, plan: Plan, files, owner, storage, stored, platform_fee_bps, now) -> Series:
    currency = (plan.pricing or {}).get("currency", "USD")
    series = build_series(owner, currency=currency, **plan.series)
    if plan.pricing:
        series.free_episodes = plan.pricing["free_episodes"]
        series.episode_price = plan.pricing["episode_price"]
        series.bundle_price = plan.pricing["bundle_price"]
    session.add(series)
    session.flush()
    if plan.poster:
        stored.append(_store(files, storage, plan.poster, f"posters/{series.id}", "image"))
        series.poster_path = stored[-1].key
    for number, row in enumerate(plan.episodes, start=1):
        episode = Episode(
            series_id=series.id,
            number=number,
            title=(row.get("title") or "").strip(),
            duration_seconds=row.get("duration_seconds"),
        )
        media = row["media"]
        if media.lower().startswith("https://"):
            episode.media_url = media
        else:
            item = _store(files, storage, media, f"episodes/{series.id}", "video")
            stored.append(item)
            episode.media_path, episode.media_type = item.key, item.media_type
            episode.media_bytes = item.size
        series.episodes.append(episode)
    session.flush()
    if plan.split is not None:
        stage_split(session, series, owner, plan.split, platform_fee_bps=platform_fee_bps, now=now)
    if plan.revenue_plan is not None:
        stage_manifest_plan(session, series, owner, plan.revenue_plan, now)
    if plan.partners:
        problems = publish_problems(session, series)
        if problems:
            raise ValidationFailed([("publish_to", p) for p in problems])
        stage_publish(session, series, owner, plan.partners, now=now)
    return series
