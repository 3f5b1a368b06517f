"""The wire side of the emulated Stripe: requests in, Stripe-shaped JSON and errors out.

`EmulatorHTTPClient` is a real `stripe.HTTPClient`, so stripe-python's own requestor encodes the
parameters, sends the Idempotency-Key and Stripe-Account headers, parses the JSON answer and
raises its own exception classes from the status code and error body, exactly as against
api.stripe.com.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import stripe

JSONObject = dict[str, Any]

_DOC_URL = "https://stripe.com/docs/error-codes/"


class StripeAPIError(Exception):
    """An error the emulated API answers with, shaped like Stripe's `{"error": {...}}` body.

    `executed` marks errors raised once the endpoint had started its work (balance too low,
    destination unable to receive): Stripe saves those under the Idempotency-Key and replays
    them. Errors from parameter validation are not saved, so a corrected retry may reuse the key.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        executed: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code
        self.param = param
        self.executed = executed

    def body(self) -> JSONObject:
        """The JSON body Stripe would send."""
        error: JSONObject = {"message": self.message, "type": self.error_type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = _DOC_URL + self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeAPIError:
    """A 400 invalid_request_error from parameter validation (never replayed)."""
    return StripeAPIError(400, message, param=param, code=code)


def refused(message: str, *, code: str, param: str | None = None) -> StripeAPIError:
    """A 400 invalid_request_error decided while executing (replayed under its key)."""
    return StripeAPIError(400, message, param=param, code=code, executed=True)


def missing(resource: str, object_id: str, *, param: str = "id") -> StripeAPIError:
    """Stripe's 404 for an id that does not exist."""
    return StripeAPIError(
        404, f"No such {resource}: '{object_id}'", param=param, code="resource_missing"
    )


@dataclass
class EmulatorRequest:
    """One decoded API call."""

    method: str
    path: str
    params: JSONObject
    api_key: str
    stripe_account: str | None
    idempotency_key: str | None
    request_id: str


@dataclass
class EmulatorResponse:
    """What the emulator answers; `connection_error` means the client never sees the answer."""

    status: int
    body: JSONObject
    headers: dict[str, str] = field(default_factory=dict)
    connection_error: str | None = None


_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_params(encoded: str) -> JSONObject:
    """Turn stripe-python's form encoding (`a[b][0]=x`) back into nested dicts and lists."""
    root: JSONObject = {}
    for raw_key, value in parse_qsl(encoded, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if match is None:
            raise invalid(f"Invalid parameter name: {raw_key}", param=raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise invalid(f"Invalid hash for parameter {raw_key}", param=raw_key)
            node = child
        node[parts[-1]] = value
    return _lists_from_indexes(root, parent=None)


def _lists_from_indexes(node: Any, parent: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists_from_indexes(v, k) for k, v in node.items()}
    indexed = converted and all(k.isdigit() for k in converted)
    if indexed and parent != "metadata":
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def parse_request(
    method: str, url: str, headers: dict[str, str], body: Any, request_id: str
) -> EmulatorRequest:
    """Decode the URL, body and headers stripe-python sent; refuse missing or live keys."""
    lower = {k.lower(): v for k, v in headers.items()}
    parts = urlsplit(url)
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    params = decode_params(parts.query)
    if method == "post" and body:
        if "x-www-form-urlencoded" not in lower.get("content-type", ""):
            raise invalid("The emulator accepts only form-encoded (v1) request bodies.")
        params.update(decode_params(body))
    auth = lower.get("authorization", "")
    api_key = auth.removeprefix("Bearer ").strip()
    if not api_key.startswith(("sk_test_", "rk_test_")):
        raise StripeAPIError(
            401,
            "Invalid API Key provided: the emulated Stripe accepts only test-mode keys "
            "(sk_test_...).",
        )
    return EmulatorRequest(
        method=method,
        path=unquote(parts.path),
        params=params,
        api_key=api_key,
        stripe_account=lower.get("stripe-account"),
        idempotency_key=lower.get("idempotency-key") if method == "post" else None,
        request_id=request_id,
    )


class RequestHandler(Protocol):
    """The emulator as the HTTP client sees it."""

    def handle(self, method: str, url: str, headers: dict[str, str], body: Any) -> EmulatorResponse:
        """Answer one HTTP request."""


_NETWORK_ERROR = (
    "Unexpected error communicating with Stripe. If this problem persists,\n"
    "let us know at support@stripe.com.\n\n(Network error: {detail})"
)


class EmulatorHTTPClient(stripe.HTTPClient):
    """A `stripe.HTTPClient` whose network is the emulator; pass it to `StripeClient`.

    Retries are stripe-python's own (`max_network_retries` on the StripeClient); only the
    back-off sleep is replaced by `retry_delay_seconds` so tests do not wait.
    """

    name = "cliffhanger-stripe-emulator"

    def __init__(self, emulator: RequestHandler, *, retry_delay_seconds: float = 0.0) -> None:
        super().__init__()
        self._emulator = emulator
        self._retry_delay_seconds = retry_delay_seconds

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        """Hand the request to the emulator; raise APIConnectionError for injected outages."""
        response = self._emulator.handle(method, url, dict(headers or {}), post_data)
        if response.connection_error is not None:
            raise stripe.APIConnectionError(
                _NETWORK_ERROR.format(detail=response.connection_error), should_retry=True
            )
        return json.dumps(response.body), response.status, response.headers

    async def request_async(
        self, method: str, url: str, headers: Any, post_data: Any = None
    ) -> tuple[bytes, int, dict[str, str]]:
        """Same as `request`, the body as bytes like stripe's async clients give it (it decodes
        either); the emulator never blocks on I/O worth awaiting."""
        body, status, response_headers = self.request(method, url, headers, post_data)
        return body.encode(), status, response_headers

    def request_stream(
        self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None
    ) -> Any:
        """Streaming endpoints (PDFs, files) are outside the payouts subset."""
        raise NotImplementedError("the emulated Stripe has no streaming endpoints")

    def close(self) -> None:
        """Nothing to release."""

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return self._retry_delay_seconds
