"""axe-core finds no serious or critical violation on the main pages."""

from __future__ import annotations

import pytest

from tests.browser.accessibility import serious_violations

PUBLIC_PAGES = ["/", "/auth/login", "/auth/signup", "/no-such-page"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_no_serious_violations(page, path):
    page.goto(path)
    assert serious_violations(page) == []
