"""Studio fixtures: tiny real video and poster files, partner apps, media listings."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.mail import OutboxMessage
from marketplace.partners.models import PartnerApp
from tests.media import image, video

# Real files (ffmpeg and Pillow): uploads are parsed, not only sniffed (studio.probe).
MP4 = video("mp4")
MOV = video("mov")
WEBM = video("webm")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + b"\0" * 200
PNG = image("png")
LINK = re.compile(r"https?://[^/\s]+(/studio/invitations/\S+)")


def upload(data: bytes, name: str):
    """A (stream, filename) pair for the test client's multipart forms."""
    return (io.BytesIO(data), name)


def stored_files(app) -> set[str]:
    """Every file under MEDIA_ROOT (including half-written temporary ones)."""
    root = Path(app.config["MEDIA_ROOT"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def invitation_path(db, email: str) -> str:
    """The path of the invitation link in the latest message to `email` in the outbox."""
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"no mail to {email}"
    match = LINK.search(message.body_text)
    assert match, message.body_text
    return match.group(1)


@pytest.fixture
def make_partner(db):
    """Factory: an active partner app (made directly; partner admin is another feature)."""

    def make(name: str = "ReelBox", currency: str = "USD", share_bps: int = 3000):
        partner = PartnerApp(name=name, currency=currency, share_bps=share_bps, hold_days=7)
        db.session.add(partner)
        db.session.flush()
        return partner

    return make


@pytest.fixture
def storage(app):
    """The app's media storage."""
    from marketplace.studio.storage import MediaStorage

    return MediaStorage(app.config["MEDIA_ROOT"], app.config["MAX_UPLOAD_BYTES"])
