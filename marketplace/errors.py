"""Domain errors raised by services; views turn them into form errors or JSON 4xx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeGuard

import click
from flask_babel import gettext
from flask_wtf import FlaskForm

Problem = tuple[str, str]  # (field, message)


class Label(str):
    """A word filled into a ServiceError's message that pages translate too ("legal name");
    marked for extraction like the messages (Makefile BABEL_KEYWORDS)."""


class ServiceError(Exception):
    """A business rule refused the request; `field` names the input at fault, if any. A message
    with named placeholders ("at most %(limit)s characters") takes its values in `params`:
    the API reads it filled in English, pages translate the template, then fill it."""

    code = "invalid"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ):
        self.template = message
        self.params = dict(params or {})
        if self.params:
            message = message % self.params
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def localized(self) -> str:
        """The message in the reader's language, for pages (the API answers in English)."""
        if not self.params:
            return gettext(self.template)
        values = {
            name: gettext(value) if isinstance(value, Label) else value
            for name, value in self.params.items()
        }
        return gettext(self.template, **values)

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


class ValidationFailed(ServiceError):
    """One or more inputs broke the rules; `problems` lists every (field, message)."""

    code = "invalid"

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            field, message = self.problems[0]
            super().__init__(message, field=field)
        else:
            listed = " ".join(f"[{field}] {message}" for field, message in self.problems)
            super().__init__(f"{len(self.problems)} problems: {listed}")


def raise_problems(problems: Sequence[Problem]) -> None:
    """Raise ValidationFailed when there is any problem."""
    if problems:
        raise ValidationFailed(problems)


def is_int(value: object) -> TypeGuard[int]:
    """Whether a value is a real integer (bool and float are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def apply_service_error(form: FlaskForm, error: ServiceError) -> None:
    """Show a service's error on the field it names, or on the form as a whole."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(error.localized())
    else:
        form.form_errors.append(error.localized())


class CommandFailed(click.ClickException):
    """A `flask ...` command failed: each line goes to stderr as "error: <line>", exit code 1."""

    def __init__(self, *lines: str):
        super().__init__("\n".join(lines))
        self.lines = lines

    def show(self, file: Any = None) -> None:
        """Print every line, prefixed, to stderr."""
        for line in self.lines:
            click.echo(f"error: {line}", err=True)
