"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re

PASSWORD = "correct horse battery"

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token_from(html: str) -> str:
    """The CSRF token a rendered page carries in its meta tag."""
    match = CSRF_META.search(html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)
