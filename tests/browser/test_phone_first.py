"""Phone first: every page of every role, at 390x844 (a phone) and 1280x800 (a laptop), in light
and dark colour schemes. On each page the document never scrolls sideways (measured:
scrollWidth <= clientWidth), no amount of money lies outside the viewport (a table scrolled
inside its wrapper would hide it), and at the phone size axe-core finds nothing serious or
critical in either scheme (contrast is the scheme's business; the width is not); every chart is
at least 200 px tall.

"Every page" is found, not listed: from each role's home and navigation, the same-site links
of those pages, one page per path shape (/admin/ledger/accounts/7 stands for every account).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from marketplace.demo.loader import DEMO_PASSWORD
from tests.browser.accessibility import serious_violations
from tests.browser.support import log_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ROLES = {
    "public": (None, ["/", "/auth/login", "/auth/signup", "/api/v1/docs"]),
    "creator": ("maya@example.com", ["/studio/"]),
    "participant": ("writer@example.com", ["/earnings/"]),
    "participant without payout account": ("director@example.com", ["/payouts/"]),
    "admin": ("admin@example.com", ["/admin/"]),
}
MAX_PAGES = 30
# Pages the README shows at both sizes in both schemes (UPDATE_SCREENSHOTS=1 writes docs/img).
SCREENSHOT_PAGES = {
    "participant": {"/earnings/": "earnings"},
    "admin": {"/admin/payouts/1": "payout-batch"},
}
SKIP = re.compile(r"(\.csv|\.pdf|\.json|/logout|/static/|/media/|/download|/export)", re.I)

MEASURE = r"""
() => {
  const doc = document.documentElement;
  const width = doc.clientWidth;
  const money = new RegExp(
    "(?:[$€£¥₩₱]|\\b(?:USD|EUR|GBP|JPY|KRW|MXN|PHP)\\b)\\s?-?\\d" +
    "|\\d[\\d.,]*\\s?(?:[€£₩]|\\b(?:USD|EUR)\\b)");
  const outside = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!money.test(node.textContent)) continue;
    const el = node.parentElement;
    if (!el || el.closest("script, style, pre, code, option, .visually-hidden")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) {
      if (rect.width > 0 && (rect.right > width + 1 || rect.left < -1)) {
        outside.push(node.textContent.trim().slice(0, 40) + " @" + Math.round(rect.right));
        break;
      }
    }
  }
  const charts = Array.from(document.querySelectorAll("canvas[data-chart]"))
    .map(c => Math.round(c.getBoundingClientRect().height));
  return {scroll: doc.scrollWidth, client: width, outside: outside.slice(0, 5), charts};
}
"""


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def _links(page, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


@pytest.fixture(scope="module")
def role_pages(browser, live_server, demo):
    """Per role: its cookies and the pages it can reach (one per path shape)."""
    found = {}
    for role, (email, starts) in ROLES.items():
        context = browser.new_context(base_url=live_server, viewport=DESKTOP)
        page = context.new_page()
        if email:
            log_in(page, email, DEMO_PASSWORD)
        queue, seen_shapes, pages = list(starts), set(), []
        queue += _links(page, live_server) if email else []
        while queue and len(pages) < MAX_PAGES:
            path = queue.pop(0)
            shape = _shape(urlsplit(path).path)
            if shape in seen_shapes:
                continue
            seen_shapes.add(shape)
            response = page.goto(path)
            if response is None or response.status != 200:
                continue
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            pages.append(path)
            if len(pages) < 12:  # the navigation's pages and one level below them
                queue += _links(page, live_server)
        found[role] = (context.storage_state(), pages)
        context.close()
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_fits_and_reads(
    browser, live_server, role_pages, screenshot, role, viewport, scheme
):
    state, pages = role_pages[role]
    assert pages, role
    context = browser.new_context(
        base_url=live_server, viewport=viewport, color_scheme=scheme, storage_state=state
    )
    problems = []
    try:
        page = context.new_page()
        for path in pages:
            page.goto(path)
            page.wait_for_load_state("load")
            measured = page.evaluate(MEASURE)
            if measured["scroll"] > measured["client"]:
                problems.append(f"{path}: scrolls sideways ({measured['scroll']} > "
                                f"{measured['client']})")  # fmt: skip
            if measured["outside"]:
                problems.append(f"{path}: money outside the viewport: {measured['outside']}")
            short = [h for h in measured["charts"] if h < 200]
            if short:
                problems.append(f"{path}: charts shorter than 200 px: {short}")
            if viewport == PHONE:
                problems += [f"{path}: {v}" for v in serious_violations(page)]
            if path in SCREENSHOT_PAGES.get(role, ()):
                size = "phone" if viewport == PHONE else "desktop"
                screenshot(page, f"{SCREENSHOT_PAGES[role][path]}-{size}-{scheme}")
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_the_pages_found_cover_each_roles_navigation(role_pages):
    """The crawl reaches the money pages the issue names (batch, ledger, statement,
    dashboard)."""
    every = {role: " ".join(pages) for role, (_, pages) in role_pages.items()}
    assert "/studio/series/" in every["creator"] and "/dashboard" in every["creator"]
    assert "/earnings/statement" in every["participant"]
    assert "/admin/payouts/" in every["admin"] and "/admin/ledger" in every["admin"]
