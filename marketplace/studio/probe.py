"""What an uploaded file really is, read from its content: videos by ffprobe (Debian's ffmpeg
package: `apt-get install ffmpeg`), posters decoded by Pillow.

The first bytes (storage.sniff_video/sniff_image) only say what a file claims to be: an `ftyp`
box followed by HTML, or JPEG magic followed by a script, passes a sniff. Here the whole file
must parse: a video needs a container of the sniffed type holding a video stream in a codec
browsers and partner apps play, and a duration; a poster must decode as the image type it
claims. Without ffprobe on the machine no video upload is accepted (the error says why).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from marketplace.errors import ServiceError

FFPROBE_SECONDS = 30
"""Longest a probe may take (a hostile file must not hold a worker)."""
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}
"""Codecs phones and partner apps play."""
CONTAINERS = {"mp4": "mp4", "mov": "mov", "webm": "webm"}
FORMAT_NAMES = {
    # ffprobe names the ISO BMFF demuxer "mov,mp4,m4a,3gp,3g2,mj2" and Matroska "matroska,webm".
    "mp4": "mov,mp4,m4a,3gp,3g2,mj2",
    "mov": "mov,mp4,m4a,3gp,3g2,mj2",
    "webm": "matroska,webm",
}
IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MAX_POSTER_PIXELS = 40_000_000
"""Larger posters are refused before decoding (decompression bombs)."""


class MediaRejected(ServiceError):
    """An upload is not an accepted type, its content is not what its type says, or it is too
    large; nothing was stored."""

    code = "media_rejected"


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What ffprobe read: codec, width and height as shown (rotation applied), duration in
    whole seconds (rounded up, at least 1)."""

    codec: str
    width: int
    height: int
    duration_seconds: int

    @property
    def vertical(self) -> bool:
        """Portrait, as micro dramas are shot."""
        return self.height > self.width


def ffprobe_path() -> str | None:
    """Where ffprobe is, or None when ffmpeg is not installed."""
    return shutil.which("ffprobe")


def probe_video(path: Path, media_type: str, field: str) -> VideoInfo:
    """Parse a stored video with ffprobe; MediaRejected unless it is a `media_type` container
    (mp4, mov, webm) with a playable video stream and a duration."""
    binary = ffprobe_path()
    if binary is None:
        raise MediaRejected(
            "Videos cannot be checked on this server (ffprobe is missing: apt-get install "
            "ffmpeg); nothing was stored.",
            field=field,
        )
    try:
        result = subprocess.run(  # noqa: S603 - a fixed program and our own file path
            [binary, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
             str(path)],
            capture_output=True,
            timeout=FFPROBE_SECONDS,
            check=False,
        )  # fmt: skip
        report = json.loads(result.stdout or b"{}") if result.returncode == 0 else {}
    except (subprocess.TimeoutExpired, ValueError):
        report = {}
    return _video_info(report, media_type, field)


def _rejected(field: str, why: str) -> MediaRejected:
    message = f"This file is not a playable video ({why}); nothing was stored."
    return MediaRejected(message, field=field)


def _video_info(report: dict, media_type: str, field: str) -> VideoInfo:
    container = (report.get("format") or {}).get("format_name", "")
    if not report or container != FORMAT_NAMES.get(media_type):
        raise _rejected(field, f"it does not parse as {media_type}")
    streams = [s for s in report.get("streams") or [] if s.get("codec_type") == "video"]
    if not streams:
        raise _rejected(field, "it holds no video stream")
    stream = streams[0]
    codec = str(stream.get("codec_name", ""))
    if codec not in VIDEO_CODECS:
        raise _rejected(field, f"its codec {codec or 'unknown'} is not H.264, HEVC, VP8/9 or AV1")
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width <= 0 or height <= 0:
        raise _rejected(field, "it has no picture size")
    if _rotation(stream) in (90, 270):
        width, height = height, width
    duration = _seconds(stream.get("duration")) or _seconds(report["format"].get("duration"))
    if not duration:
        raise _rejected(field, "it has no duration")
    return VideoInfo(codec, width, height, max(1, math.ceil(duration)))


def _seconds(raw: object) -> float | None:
    try:
        value = float(str(raw))
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 < value <= 86_400 else None


def _rotation(stream: dict) -> int:
    """The stream's display rotation in degrees (0, 90, 180, 270): phones store it as a tag or
    as a display matrix."""
    raw = (stream.get("tags") or {}).get("rotate")
    for side in stream.get("side_data_list") or []:
        raw = side.get("rotation", raw)
    try:
        return int(float(str(raw))) % 360 if raw is not None else 0
    except ValueError:
        return 0


def check_poster(path: Path, media_type: str, field: str) -> tuple[int, int]:
    """Decode a stored poster with Pillow; its (width, height), or MediaRejected unless it is a
    whole `media_type` image (png, jpeg, webp) of a sane size."""
    expected = IMAGE_FORMATS.get(media_type)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format != expected:
                    raise ValueError(f"it is {image.format}, not {expected}")
                width, height = image.size
                if width * height > MAX_POSTER_PIXELS:
                    raise ValueError("it is too large")
                image.load()  # decode every pixel: a truncated or doctored file fails here
    except Exception as error:  # Pillow raises many kinds for hostile files
        raise MediaRejected(
            f"This file is not a PNG, JPEG or WebP image ({error}); nothing was stored.",
            field=field,
        ) from None
    return width, height
