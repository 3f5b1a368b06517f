"""Shared column helpers for models."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, aware and in UTC (a callable default, never a value at import)."""
    return datetime.now(UTC)
