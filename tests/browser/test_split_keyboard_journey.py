"""A creator edits a split in percent with the keyboard alone: the live total says what is left,
a row is removed, Enter saves, and a refused save puts the problem in view with focus on it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from marketplace.studio.series import create_series
from tests.browser.accessibility import serious_violations
from tests.browser.support import log_in, make_account


@pytest.fixture
def draft_series(live_session):
    """A creator and an empty draft series of theirs."""
    creator = make_account(live_session, "creator", "noa")
    series = create_series(
        live_session, creator, title="Tide Tables", synopsis="", language="en", currency="USD"
    )
    found = creator.email, series.id
    live_session.rollback()
    return found


def tab_to(page, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element's accessible label or text is `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        label = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el) return "";
                if (el.labels && el.labels.length) {
                    const group = el.closest("fieldset");
                    const legend = group ? group.querySelector("legend").textContent : "";
                    return legend + " / " + el.labels[0].textContent.trim();
                }
                return (el.textContent || el.value || "").trim();
            }"""
        )
        if label == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def type_row(page, number: int, email: str, role: str, credit: str, share: str) -> None:
    """Fill row `number` with the keyboard: Tab into each field and type."""
    legend = f"Participant {number}"
    tab_to(page, f"{legend} / Email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")  # Role: a select takes typed letters
    page.keyboard.type(role)
    page.keyboard.press("Tab")
    page.keyboard.type(credit)
    page.keyboard.press("Tab")
    page.keyboard.type(share)


def test_keyboard_only_split_in_percent(page, draft_series):
    email, series_id = draft_series
    log_in(page, email)
    page.goto(f"/studio/series/{series_id}/split")
    expect(page.get_by_text("Shares are percentages")).to_be_visible()
    expect(page.get_by_text("basis points")).to_have_count(0)

    # Two more rows, each added from the keyboard.
    for _ in range(2):
        tab_to(page, "Add a row")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    type_row(page, 1, "ana@example.com", "writer", "Ana Writer", "33.33")
    total = page.locator("[data-split-total]")
    expect(total).to_have_text("Total 33.33%: 66.67% left to give.")
    type_row(page, 2, "ben@example.com", "actor", "Ben Actor", "33,33")
    expect(total).to_have_text("Total 66.66%: 33.34% left to give.")
    type_row(page, 3, "cy@example.com", "director", "Cy Director", "40")
    expect(total).to_have_text("Total 106.66%: 6.66% too much.")

    # Enter in a field saves (it does not add a row); the sum is refused, and the message
    # is focused and in view, with what was typed kept.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Shares add up to 106.66%; they must add up to 100% (6.66% too much)."
    )
    expect(alert).to_be_focused()
    expect(alert).to_be_in_viewport()
    row3 = page.get_by_role("group", name="Participant 3")
    expect(row3.get_by_label("Share (%)")).to_have_value("40")
    assert serious_violations(page) == []

    # Remove the third participant with the keyboard; the total follows and focus stays in
    # the form.
    tab_to(page, "Remove participant 3")
    page.keyboard.press("Enter")
    expect(page.get_by_role("group", name="Participant 3")).to_have_count(0)
    expect(total).to_have_text("Total 66.66%: 33.34% left to give.")
    tab_to(page, "Participant 2 / Share (%)")
    page.keyboard.press("Control+A")
    page.keyboard.type("66.67")
    expect(total).to_have_text("Total 100%: complete.")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The confirmation says what changed.
    expect(
        page.get_by_text(
            "Split version 1 saved, effective now: Ana Writer 33.33%, Ben Actor 66.67%."
        )
    ).to_be_visible()
    table = page.get_by_role("table")
    for name, share in (("Ana Writer", "33.33%"), ("Ben Actor", "66.67%")):
        expect(table.get_by_role("row").filter(has_text=name)).to_contain_text(share)
    expect(table.get_by_role("row").filter(has_text="Cy Director")).to_have_count(0)
    # The form starts from the saved version, in percent.
    expect(
        page.get_by_role("group", name="Participant 2").get_by_label("Share (%)")
    ).to_have_value("66.67")
