"""TINs at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
SECRET_KEY with HKDF-SHA256, as partner API secrets are (marketplace.partners.services), with
an `info` of its own so the two keys differ. A database dump reveals no TIN; changing
SECRET_KEY makes stored TINs unreadable (payees then submit their form again)."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"cliffhanger", info=b"tax identification v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal_tin(tin: str) -> str:
    """The TIN encrypted for storage."""
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(tin.encode()).decode()


def open_tin(token: str) -> str | None:
    """The stored TIN in clear (the year-end file only), or None under another SECRET_KEY."""
    try:
        return _fernet(current_app.config["SECRET_KEY"]).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
