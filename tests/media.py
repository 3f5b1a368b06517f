"""Small real media for tests: videos made by ffmpeg (Debian's package, as the server's ffprobe
is), images by Pillow. Made once per process and cached. Without ffmpeg every test that uploads
a video is skipped with that reason (tests/conftest.py); CI installs it (.ci/run)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from PIL import Image

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
NO_FFMPEG = "needs ffmpeg/ffprobe (apt-get install ffmpeg): uploads are checked by ffprobe"

_CODECS = {
    "mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"],
    "mov": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mov"],
    "webm": ["-c:v", "libvpx-vp9", "-b:v", "200k", "-f", "webm"],
}


@lru_cache(maxsize=32)
def video(kind: str = "mp4", width: int = 90, height: int = 160, seconds: int = 2,
          noise: bool = False) -> bytes:  # fmt: skip
    """A real `kind` video (mp4, mov, webm) of `seconds`; `noise` makes it large (a few MB)."""
    if not HAVE_FFMPEG:
        # Tests that upload a video are skipped without ffmpeg; others may still import this.
        return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\0" * 200
    source = (f"nullsrc=s={width}x{height}:r=25,geq=random(1)*255:128:128" if noise
              else f"testsrc=size={width}x{height}:rate=10")  # fmt: skip
    rate = ["-b:v", "8M", "-maxrate", "8M", "-bufsize", "8M"] if noise else []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"clip.{kind}"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds),
             *_CODECS[kind], *rate, str(out)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        return out.read_bytes()


@lru_cache(maxsize=16)
def image(kind: str = "png", width: int = 60, height: int = 90) -> bytes:
    """A real poster image: png, jpeg or webp."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 80)).save(buffer, format=kind.upper())
    return buffer.getvalue()
