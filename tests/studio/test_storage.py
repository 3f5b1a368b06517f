"""Media types are decided by content, never by name; rejected uploads leave nothing."""

from __future__ import annotations

import io

import pytest

from marketplace.studio.storage import (
    MediaRejected,
    MediaStorage,
    human_size,
    sniff_image,
    sniff_video,
)
from tests.studio.conftest import MOV, MP4, PDF, PNG, WEBM


def test_sniffing_by_magic_bytes():
    assert sniff_video(MP4) == "mp4"
    assert sniff_video(MOV) == "mov"
    assert sniff_video(WEBM) == "webm"
    assert sniff_video(PDF) is None
    assert sniff_video(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") is None
    assert sniff_video(b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska") is None
    assert sniff_image(PNG) == "png"
    assert sniff_image(MP4) is None


def test_save_streams_checks_and_moves_into_place(tmp_path):
    storage = MediaStorage(tmp_path, max_bytes=10_000)
    stored = storage.save(io.BytesIO(WEBM), folder="episodes/1")
    assert stored.media_type == "webm" and stored.size == len(WEBM)
    assert stored.key.startswith("episodes/1/") and stored.key.endswith(".webm")
    with storage.open(stored.key) as handle:
        assert handle.read() == WEBM
    for bad, message in ((PDF, "not an mp4"), (MP4 + b"\0" * 10_000, "larger than")):
        with pytest.raises(MediaRejected, match=message):
            storage.save(io.BytesIO(bad), folder="episodes/1")
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files == [stored.key.rsplit("/", 1)[1]]


def test_keys_cannot_leave_the_media_root(tmp_path):
    storage = MediaStorage(tmp_path, max_bytes=10)
    with pytest.raises(Exception, match="No such media"):
        storage.open("../../etc/passwd")


def test_human_size():
    assert human_size(500 * 1024 * 1024) == "500 MB"
    assert human_size(1000) == "1000 bytes"
