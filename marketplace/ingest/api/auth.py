"""Request signing (HMAC-SHA256 over timestamp + "." + raw body) and per-key rate limits.

The rate limit is an in-process token bucket: each gunicorn worker keeps its own buckets, so
the effective limit of a key is API_RATE_LIMIT x workers requests per second. That is
documented in docs/api.md; a shared limiter (Redis) can replace `TokenBuckets` later.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass

from marketplace.errors import ServiceError

WINDOW_SECONDS = 300
"""How far a request's timestamp may be from our clock."""


class Unauthorized(ServiceError):
    """The request is not signed by a usable key."""

    code = "unauthorized"
    status = 401


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a request must carry: over timestamp + "." + raw body."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_timestamp(raw: str | None, now: float) -> None:
    """Refuse a missing, malformed or stale (more than 300 s away) timestamp."""
    if not raw:
        raise Unauthorized("X-Cliffhanger-Timestamp is missing.", field="X-Cliffhanger-Timestamp")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise Unauthorized(
            "X-Cliffhanger-Timestamp must be unix seconds.", field="X-Cliffhanger-Timestamp"
        )
    if abs(int(raw) - now) > WINDOW_SECONDS:
        raise Unauthorized(
            f"The timestamp is more than {WINDOW_SECONDS} s from our clock ({int(now)}).",
            field="X-Cliffhanger-Timestamp",
            code="stale_timestamp",
        )


def check_signature(secret: str, timestamp: str, body: bytes, given: str | None) -> None:
    """Compare the request's signature with ours in constant time."""
    expected = signature(secret, timestamp, body)
    given = (given or "").strip().lower()
    # compare_digest refuses non-ASCII str: compare bytes.
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Unauthorized(
            "The signature does not match the body.",
            field="X-Cliffhanger-Signature",
            code="bad_signature",
        )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Per-key token buckets of this process: `rate` requests/s, bursts up to `burst`."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: int, now: float | None = None) -> float:
        """Take one token; 0.0 if allowed, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / rate if rate > 0 else math.inf

    def reset(self) -> None:
        """Forget every bucket (tests)."""
        with self._lock:
            self._buckets.clear()


buckets = TokenBuckets()
"""This process's buckets."""
