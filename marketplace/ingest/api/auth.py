"""Request signing and the partner API's rate limits.

Signature v2 (every app created from now on): hex HMAC-SHA256 with the key's secret over

    timestamp "\\n" METHOD "\\n" path "\\n" query "\\n" raw body

sent as `X-Cliffhanger-Signature: v2=<hex>`. `path` is the request's path percent-encoded as
`canonical_path` does (every byte but letters, digits, "/", "-", ".", "_", "~"), `query` the
query string exactly as sent (without "?"; empty when there is none). A signature is therefore
good for one request only: its method, path and query, within the timestamp's window.

Signature v1 (timestamp "." body, plain hex) is accepted only from apps flagged
`legacy_signatures` (those created before v2); it does not bind the method, path or query.

Rate limits live in the app's limiter storage (Redis in production), shared by every worker:
failed authentications per client address (API_FAILED_AUTH_LIMIT) are counted before the key is
looked up, and each key may send API_RATE_BURST requests in any API_RATE_BURST/API_RATE_LIMIT
seconds (on average API_RATE_LIMIT a second).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import tempfile
import time
from typing import IO
from urllib.parse import quote

from flask import current_app, g, request
from limits import RateLimitItem, RateLimitItemPerSecond, parse_many

from marketplace.errors import ServiceError
from marketplace.extensions import db, limiter
from marketplace.partners.models import PartnerApp
from marketplace.partners.services import signing_secret

WINDOW_SECONDS = 300
"""How far a request's timestamp may be from our clock."""


MAX_KEY_ID = 40
"""Longest key id (the column's size)."""

BODY_LIMITS = {"reconciliation_api.upload_report": "RECONCILE_MAX_BYTES"}
"""Endpoints whose body may be larger than API_MAX_BODY_BYTES: endpoint -> config key of its
own limit (a partner's monthly report is a file, not a batch of events)."""


class Unauthorized(ServiceError):
    """The request is not signed by a usable key."""

    code = "unauthorized"
    status = 401


class PayloadTooLarge(ServiceError):
    """Too many events, or too many bytes."""

    code = "payload_too_large"
    status = 413


class RateLimited(ServiceError):
    """Too many failed authentications from an address, or too many requests for a key;
    `wait` is the seconds until the next try is allowed (the Retry-After header)."""

    code = "rate_limited"
    status = 429

    def __init__(self, wait: int, why: str) -> None:
        super().__init__(f"{why}; retry in {wait} s.")
        self.wait = wait
        self.why = why


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The v1 signature (legacy apps only): hex HMAC-SHA256 over timestamp + "." + raw body."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def canonical_path(path: str) -> str:
    """The path as v2 signs it: percent-encoded UTF-8, every byte but unreserved ones and "/"."""
    return quote(path, safe="/-._~", encoding="utf-8", errors="surrogatepass")


def signature_v2(
    secret: str, timestamp: str, method: str, path: str, query: bytes | str, body: bytes
) -> str:
    """The v2 signature's hex: HMAC-SHA256 over timestamp, method, path, query and body."""
    raw_query = query.encode("latin-1") if isinstance(query, str) else query
    head = f"{timestamp}\n{method.upper()}\n{canonical_path(path)}\n".encode()
    return hmac.new(secret.encode(), head + raw_query + b"\n" + body, hashlib.sha256).hexdigest()


def signature_header_v2(
    secret: str, timestamp: str, method: str, path: str, query: bytes | str, body: bytes
) -> str:
    """The X-Cliffhanger-Signature value of a v2-signed request: "v2=<hex>"."""
    return "v2=" + signature_v2(secret, timestamp, method, path, query, body)


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


def _bad_signature(message: str = "The signature does not match the request.") -> Unauthorized:
    return Unauthorized(message, field="X-Cliffhanger-Signature", code="bad_signature")


def _same(expected: str, given: str) -> bool:
    # compare_digest refuses non-ASCII str: compare bytes.
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def check_request_signature(
    secret: str,
    *,
    timestamp: str,
    method: str,
    path: str,
    query: bytes,
    body: bytes,
    given: str | None,
    legacy: bool,
) -> None:
    """Check a request's signature in constant time: v2 (`v2=<hex>`) for every app; v1 (plain
    hex, or `v1=<hex>`) only when the app is flagged legacy."""
    _check_given(
        given,
        legacy,
        signature_v2(secret, timestamp, method, path, query, body),
        signature(secret, timestamp, body),
    )


def _check_given(given: str | None, legacy: bool, expected_v2: str, expected_v1: str) -> None:
    """Compare the X-Cliffhanger-Signature given with the expected v2 (and, for a legacy
    app, v1) hex digests, in constant time."""
    given = (given or "").strip()
    scheme, sep, value = given.partition("=")
    if sep and scheme.lower() == "v2":
        if not _same(expected_v2, value.strip().lower()):
            raise _bad_signature()
        return
    v1 = value if sep and scheme.lower() == "v1" else given
    if not legacy:
        raise Unauthorized(
            "Sign requests with v2: X-Cliffhanger-Signature: v2=<hex HMAC-SHA256 of timestamp, "
            "method, path, query and body> (see /api/v1/docs).",
            field="X-Cliffhanger-Signature",
            code="signature_version",
        )
    if not _same(expected_v1, v1.strip().lower()):
        raise _bad_signature("The signature does not match the body.")


SPOOL_IN_MEMORY = 1 << 20
"""A streamed body stays in memory up to this many bytes, then goes to a temporary file."""
_CHUNK = 1 << 16


def _spooled_body(secret: str, timestamp: str, limit: int) -> tuple[IO[bytes], str, str]:
    """Read the request body as a stream into a temporary file (at most `limit` bytes:
    PayloadTooLarge beyond), hashing it on the way; returns (the file at its start, the v2
    hex digest, the v1 hex digest)."""
    head = f"{timestamp}\n{request.method.upper()}\n{canonical_path(request.path)}\n".encode()
    v2 = hmac.new(secret.encode(), head + request.query_string + b"\n", hashlib.sha256)
    v1 = hmac.new(secret.encode(), timestamp.encode() + b".", hashlib.sha256)
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    while chunk := request.stream.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        v2.update(chunk)
        v1.update(chunk)
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, v2.hexdigest(), v1.hexdigest()


def check_signature(secret: str, timestamp: str, body: bytes, given: str | None) -> None:
    """Compare a v1 signature (timestamp and body only) with ours in constant time."""
    given = (given or "").strip().lower()
    if not _same(signature(secret, timestamp, body), given):
        raise _bad_signature("The signature does not match the body.")


# --- rate limits (in the limiter's shared storage) --------------------------------------------


def _failure_limits() -> list[RateLimitItem]:
    return list(parse_many(current_app.config["API_FAILED_AUTH_LIMIT"]))


def _key_limit() -> RateLimitItem:
    """API_RATE_BURST requests per API_RATE_BURST/API_RATE_LIMIT seconds (moving window)."""
    config = current_app.config
    rate, burst = float(config["API_RATE_LIMIT"]), max(1, int(config["API_RATE_BURST"]))
    window = max(1, round(burst / rate)) if rate > 0 else 24 * 3600
    return RateLimitItemPerSecond(burst, window)


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def _retry_after(item: RateLimitItem, *identifiers: str) -> int:
    stats = limiter.limiter.get_window_stats(item, *identifiers)
    return max(1, math.ceil(stats.reset_time - time.time()))


def failed_auth_wait(address: str) -> int:
    """Seconds until this address may try again after too many failed authentications (0: it
    may now). Checked before the key is looked up, so guessing keys costs the database nothing."""
    if not _enabled():
        return 0
    for item in _failure_limits():
        if not limiter.limiter.test(item, "api-auth-failures", address):
            return _retry_after(item, "api-auth-failures", address)
    return 0


def count_failed_auth(address: str) -> None:
    """Count one failed authentication against the address."""
    if _enabled():
        for item in _failure_limits():
            limiter.limiter.hit(item, "api-auth-failures", address)


def take_key_request(key_id: str) -> int:
    """Count one request against a key: 0 if allowed, else the seconds to wait."""
    if not _enabled():
        return 0
    item = _key_limit()
    if limiter.limiter.hit(item, "api-key", key_id):
        return 0
    return _retry_after(item, "api-key", key_id)


# --- the whole check, for any blueprint ---------------------------------------------------------


def authenticate_partner_request() -> PartnerApp:
    """The partner app that signed the current request, for any blueprint's before_request.

    Refuses, in this order: an address over its failed-authentication limit (RateLimited,
    before any look-up), a body over API_MAX_BODY_BYTES (PayloadTooLarge), a missing or unknown
    key, a stale timestamp or a bad signature (Unauthorized, counted against the address), and
    a key over its request rate (RateLimited).
    """
    address = request.remote_addr or ""
    wait = failed_auth_wait(address)
    if wait:
        raise RateLimited(wait, "Too many failed authentications from this address")
    try:
        partner = _signed_by()
    except Unauthorized:
        count_failed_auth(address)
        raise
    wait = take_key_request(request.headers.get("X-Cliffhanger-Key", ""))
    if wait:
        raise RateLimited(wait, "Too many requests")
    return partner


def body_limit() -> int:
    """The largest body this request's endpoint takes, in bytes (BODY_LIMITS, else
    API_MAX_BODY_BYTES)."""
    key = BODY_LIMITS.get(request.endpoint or "", "API_MAX_BODY_BYTES")
    return int(current_app.config[key])


def _signed_by() -> PartnerApp:
    """The partner app whose usable key signed this request; Unauthorized otherwise."""
    limit = body_limit()
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    # A chunked body has no Content-Length: werkzeug then enforces max_content_length while
    # reading, but stops silently at exactly that many bytes, so read one byte more than the
    # limit to tell a body that just fits from a longer one.
    request.max_content_length = limit + 1
    key_id = request.headers.get("X-Cliffhanger-Key", "")
    timestamp = request.headers.get("X-Cliffhanger-Timestamp")
    if not key_id:
        raise Unauthorized("X-Cliffhanger-Key is missing.", field="X-Cliffhanger-Key")
    check_timestamp(timestamp, time.time())
    assert timestamp is not None  # check_timestamp refuses a missing one
    # No key id is longer or holds anything but printable ASCII; such a header never reaches
    # the look-up (PostgreSQL text refuses NUL).
    usable = len(key_id) <= MAX_KEY_ID and key_id.isascii() and key_id.isprintable()
    found = signing_secret(db.session(), key_id) if usable else None
    if found is None:
        raise Unauthorized("Unknown or expired key.", field="X-Cliffhanger-Key", code="unknown_key")
    partner, secret = found
    if request.endpoint in BODY_LIMITS:  # a file: streamed to disk, never held in memory
        g.body_file, expected_v2, expected_v1 = _spooled_body(secret, timestamp, limit)
        _check_given(
            request.headers.get("X-Cliffhanger-Signature"),
            partner.legacy_signatures,
            expected_v2,
            expected_v1,
        )
        return partner
    body = request.get_data(cache=True)
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    check_request_signature(
        secret,
        timestamp=timestamp,
        method=request.method,
        path=request.path,
        query=request.query_string,
        body=body,
        given=request.headers.get("X-Cliffhanger-Signature"),
        legacy=partner.legacy_signatures,
    )
    return partner
