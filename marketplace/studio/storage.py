"""Media storage: uploaded videos and posters on the local filesystem under MEDIA_ROOT.

A stored file is named by a key ("episodes/12/3f9c....mp4"); keys are made here, never taken
from a client's file name. A file's type is decided by its content, never by its name: first
its first bytes (magic numbers: ISO BMFF "ftyp" box with a known brand for mp4/mov, an EBML
header with DocType "webm" for webm; PNG, JPEG and WebP signatures for posters), then the whole
file (studio.probe: ffprobe parses a video, which gives its duration and size; Pillow decodes a
poster). Uploads are streamed into a temporary file inside MEDIA_ROOT and moved into place only
when valid, so nothing is stored for a rejected file.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from marketplace.errors import NotFound
from marketplace.studio.probe import MediaRejected, check_poster, probe_video

__all__ = ["MediaRejected", "MediaStorage", "StoredFile", "media_type_of", "open_media"]

CHUNK = 1024 * 1024
HEAD_BYTES = 64

VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
MIME_TYPES = {**VIDEO_TYPES, **IMAGE_TYPES}

# ISO BMFF major/compatible brands: QuickTime, and the MPEG-4 family (mp4, m4v, dash, 3gp).
MOV_BRANDS = {b"qt  "}
MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71",
    b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"3gp4", b"3gp5", b"3gp6", b"3g2a",
    b"f4v ", b"MSNV", b"NDAS", b"mmp4",
}  # fmt: skip


def sniff_video(head: bytes) -> str | None:
    """The video type ("mp4", "mov", "webm") of a file from its first bytes, or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[0:4], "big")
        end = min(len(head), box_size) if box_size >= 16 else 16
        brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
        if any(b in MOV_BRANDS for b in brands[:1]):
            return "mov"
        if any(b in MP4_BRANDS for b in brands):
            return "mp4"
        if any(b in MOV_BRANDS for b in brands):
            return "mov"
        return None
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in head[:HEAD_BYTES]:
        return "webm"
    return None


def sniff_image(head: bytes) -> str | None:
    """The poster image type ("png", "jpeg", "webp") from its first bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def human_size(size: int) -> str:
    """A byte count for people: 500 MB, 1.5 GB, 900 KB, 12 bytes."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            whole, rest = divmod(size * 10 // factor, 10)
            return f"{whole}.{rest} {unit}" if rest else f"{whole} {unit}"
    return f"{size} bytes"


def duration_text(seconds: int | None) -> str:
    """A running time for people: 1:35, 1:02:03 ("" when unknown)."""
    if not seconds or seconds < 0:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file now in storage: key (relative path under MEDIA_ROOT), media_type, size (bytes),
    and what its content says: width and height in pixels (as shown), duration_seconds (videos).
    """

    key: str
    media_type: str
    size: int
    width: int | None = None
    height: int | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class _Content:
    width: int
    height: int
    duration_seconds: int | None


def _verify(path: Path, kind: str, media_type: str, field: str) -> _Content:
    """Parse the whole file (ffprobe for videos, Pillow for posters); MediaRejected if not."""
    if kind == "video":
        info = probe_video(path, media_type, field)
        return _Content(info.width, info.height, info.duration_seconds)
    width, height = check_poster(path, media_type, field)
    return _Content(width, height, None)


class MediaStorage:
    """Files under one root directory, with an upload size limit."""

    def __init__(self, root: str | os.PathLike, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes

    @classmethod
    def from_app(cls) -> MediaStorage:
        """The storage configured for the current app (MEDIA_ROOT, MAX_UPLOAD_BYTES)."""
        config = current_app.config
        return cls(config["MEDIA_ROOT"], config["MAX_UPLOAD_BYTES"])

    def _sniff(self, head: bytes, kind: str, field: str) -> str:
        media_type = sniff_video(head) if kind == "video" else sniff_image(head)
        if media_type is None:
            accepted = "an mp4, mov or webm video" if kind == "video" else "a PNG, JPEG or WebP"
            raise MediaRejected(
                f"This file is not {accepted} (its content was checked, not its name).",
                field=field,
            )
        return media_type

    def _too_large(self, field: str) -> MediaRejected:
        return MediaRejected(
            f"The file is larger than the {human_size(self.max_bytes)} limit.", field=field
        )

    def check(self, stream: BinaryIO, *, kind: str = "video", field: str = "media") -> str:
        """Check a seekable stream's type, content and size without storing it; returns the
        type (the content is parsed from a temporary copy, removed at once)."""
        stream.seek(0)
        head = stream.read(HEAD_BYTES)
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        if size == 0:
            raise MediaRejected("The file is empty.", field=field)
        if size > self.max_bytes:
            raise self._too_large(field)
        media_type = self._sniff(head, kind, field)
        tmp_dir = self.root / ".incoming"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
            _verify(Path(tmp_name), kind, media_type, field)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
            stream.seek(0)
        return media_type

    def save(
        self, stream: BinaryIO, *, folder: str, kind: str = "video", field: str = "media"
    ) -> StoredFile:
        """Stream into a temporary file, check type and size, then move it into place."""
        tmp_dir = self.root / ".incoming"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=tmp_dir)
        try:
            size = 0
            head = b""
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large(field)
                    out.write(chunk)
            if size == 0:
                raise MediaRejected("The file is empty.", field=field)
            media_type = self._sniff(head, kind, field)
            content = _verify(Path(tmp_name), kind, media_type, field)
            key = f"{folder.strip('/')}/{secrets.token_hex(16)}.{media_type}"
            target = self.path_of(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredFile(
            key=key,
            media_type=media_type,
            size=size,
            width=content.width,
            height=content.height,
            duration_seconds=content.duration_seconds,
        )

    def save_path(self, path: Path, *, folder: str, kind: str = "video") -> StoredFile:
        """Copy a local file (CLI imports) into storage through the same checks."""
        with path.open("rb") as stream:
            return self.save(stream, folder=folder, kind=kind, field=str(path.name))

    def path_of(self, key: str) -> Path:
        """The filesystem path of a key; refuses keys that would leave the root."""
        root = self.root.resolve()
        target = (root / key).resolve()
        if not key or root not in target.parents:
            raise NotFound("No such media.")
        return target

    def open(self, key: str) -> BinaryIO:
        """Open a stored file for reading (the caller closes it); NotFound if missing."""
        path = self.path_of(key)
        if not path.is_file():
            raise NotFound("No such media.")
        return path.open("rb")

    def delete(self, key: str | None) -> None:
        """Remove a stored file if it exists (used when a change is rolled back or replaced)."""
        if key:
            self.path_of(key).unlink(missing_ok=True)


def media_type_of(key: str) -> str:
    """The MIME type to serve a stored key with (from the type it was stored as)."""
    return MIME_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


def open_media(key: str) -> BinaryIO:
    """Open a stored file by key with the app's storage (for signed partner links)."""
    return MediaStorage.from_app().open(key)
