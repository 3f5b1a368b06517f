"""Domain errors raised by services; views turn them into form errors or JSON 4xx."""

from __future__ import annotations


class ServiceError(Exception):
    """A business rule refused the request; `field` names the input at fault, if any."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_json(self) -> dict:
        """The API's error body: {"error": {"code", "message", "field"}}."""
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class NotFound(ServiceError):
    """The object does not exist, or the caller may not know it exists."""

    code = "not_found"
    status = 404


class Forbidden(ServiceError):
    """The caller is known but may not do this."""

    code = "forbidden"
    status = 403


class Conflict(ServiceError):
    """The request clashes with the current state (duplicate, already done)."""

    code = "conflict"
    status = 409
