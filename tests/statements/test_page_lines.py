"""The statement page's lines: by series and episode (partner app and country one click away),
summed by the database; the same money as the full statement, every line's drill-down adding
up to it; payouts and other entries found among many allocation entries."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html import unescape

import pytest

from ledger.posting import Leg, post_entry
from ledger.reports.statements import EVENT_FIELDS, accounts_statement, statement_events
from ledger.rollups import rollup_lines
from marketplace.chart import ledger_account
from marketplace.earnings.exports import statement_csv
from marketplace.earnings.statements import PAGE_FIELDS, participant_statement
from tests.statements.conftest import T0

JANUARY = (T0, T0 + timedelta(days=31))


def mixed_history(world):
    """Episode 1 sold on both partner apps in three countries, episode 2 once; a refund, a
    pool share, a payout; and February money (outside January) on the same lines."""
    for n, (partner, country) in enumerate([(0, "US"), (0, "GB"), (1, "US"), (1, "FR")] * 3):
        world.unlock(T0 + timedelta(hours=n), gross=300 + n, partner=partner, episode=1,
                     country=country)  # fmt: skip
    world.unlock(T0 + timedelta(days=2), gross=999, partner=1, episode=2, country="GB")
    world.refund(T0 + timedelta(days=3), gross=301, partner=0, episode=1)
    world.pool(T0 + timedelta(days=4), amount=10_000, partner=1)
    world.payout(world.member, 250, T0 + timedelta(days=5))
    world.unlock(T0 + timedelta(days=40), gross=5_000, episode=1)


@pytest.mark.parametrize("period", [JANUARY, (T0 + timedelta(hours=2), T0 + timedelta(days=45))])
def test_page_lines_are_the_full_statement_summed_by_series_and_episode(db, world, period):
    """Whole months (the monthly rollup, projected in SQL) and partial ones (events)."""
    mixed_history(world)
    accounts = [world.account(world.member)]
    full = accounts_statement(db.session, accounts, *period)
    page = accounts_statement(db.session, accounts, *period, fields=PAGE_FIELDS)
    assert (page.opening, page.closing, page.movements) == (
        full.opening,
        full.closing,
        full.movements,
    )
    summed: dict[tuple, list[int]] = {}
    for line in full.lines:
        if line.kind in ("earning", "refund"):
            key = (line.kind, tuple((k, v) for k, v in line.group if k in PAGE_FIELDS))
            found = summed.setdefault(key, [0, 0])
            found[0] += line.amount
            found[1] += line.count
    got = {
        (line.kind, line.group): [line.amount, line.count]
        for line in page.lines
        if line.kind in ("earning", "refund")
    }
    assert got == summed
    assert len(got) < len([x for x in full.lines if x.kind in ("earning", "refund")])
    assert [x for x in page.lines if x.kind not in ("earning", "refund")] == [
        x for x in full.lines if x.kind not in ("earning", "refund")
    ]
    for line in page.lines:
        if line.kind in ("earning", "refund"):
            events = statement_events(
                db.session, accounts, *period, kind=line.kind, group=dict(line.group)
            )
            assert (sum(e.amount for e in events), len(events)) == (line.amount, line.count)


def test_rollup_lines_project_the_line_key_in_the_database(db, world):
    mixed_history(world)
    accounts = [world.account(world.member)]
    full = rollup_lines(db.session, accounts, T0, T0 + timedelta(days=31))
    projected = rollup_lines(db.session, accounts, T0, T0 + timedelta(days=31), PAGE_FIELDS)
    expected: dict[tuple, list[int]] = {}
    for earning, key, amount, count in full:
        values = dict(zip(EVENT_FIELDS, json.loads(key), strict=True))
        found = expected.setdefault((earning, tuple(values[f] for f in PAGE_FIELDS)), [0, 0])
        found[0] += amount
        found[1] += count
    got = {(e, tuple(json.loads(key))): [a, n] for e, key, a, n in projected}
    assert got == expected


def test_fields_out_of_order_are_refused(db, world):
    accounts = [world.account(world.member)]
    with pytest.raises(ValueError, match="subset"):
        accounts_statement(db.session, accounts, *JANUARY, fields=("episode", "series_id"))
    with pytest.raises(ValueError, match="subset"):
        rollup_lines(db.session, accounts, *JANUARY, ("kind", "episode"))


def test_other_entries_are_found_among_allocations_whatever_their_metadata(db, world):
    """A payout, an adjustment and an entry with no kind at all are listed; allocations never."""
    mixed_history(world)
    account = world.account(world.member)
    transit = ledger_account(db.session, "payouts_in_transit", "USD").id
    for n, meta in enumerate([{"kind": "adjustment", "reason": "typo"}, {}]):
        post_entry(
            db.session,
            idempotency_key=f"test:other:{n}:{world.member.id}",
            effective_at=T0 + timedelta(days=6 + n),
            description="test",
            legs=[Leg(account, 7 + n), Leg(transit, -7 - n)],
            metadata=meta,
        )
    st = accounts_statement(db.session, [account], *JANUARY, fields=PAGE_FIELDS)
    other = sorted(
        (line.kind, line.amount) for line in st.lines if line.kind in ("payout", "other")
    )
    assert other == [("other", -8), ("other", -7), ("payout", -250)]


def test_the_page_shows_episodes_and_drills_down_to_partner_apps_and_countries(
    client, login_as, world, db
):
    mixed_history(world)
    login_as(world.participant)
    page = client.get("/earnings/statement", query_string={"currency": "USD", "month": "2026-01"})
    html = page.get_data(as_text=True)
    view = participant_statement(db.session, world.participant.id, "USD", *JANUARY,
                                 fields=PAGE_FIELDS)  # fmt: skip
    episodes = [line for section in view.earnings for line in section.lines]
    assert [line.episode for line in episodes] == [1, 2]
    assert html.count("<td>Episode ") == 2
    links = [unescape(x) for x in re.findall(r'href="(/earnings/statement/lines\?[^"]+)"', html)]
    first = next(link for link in links if "episode=1" in link and "line=earning" in link)
    assert "country" not in first and "partner_id" not in first
    drill = client.get(first).get_data(as_text=True)
    for partner in world.partners:
        assert partner.name in drill
    for country in ("US", "GB", "FR"):
        assert f"<td>{country}</td>" in drill
    total = re.search(r"data-total>([^<]+)<", drill)[1]
    amount = episodes[0].amount
    assert total == f"${amount // 100:,}.{amount % 100:02d}"


def test_a_csv_of_page_lines_lists_each_lines_source_events(db, world):
    """The CSV follows the statement's own grouping (downloads ask for every field)."""
    mixed_history(world)
    view = participant_statement(db.session, world.participant.id, "USD", *JANUARY,
                                 fields=PAGE_FIELDS)  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(statement_csv(db.session, view, "en_US"))))
    events = [r for r in rows if r["section"] in ("earnings", "refunds", "pools")]
    assert [r["episode"] for r in events if r["section"] == "earnings"] == ["1", "2"]
    for row in events:
        assert len(row["source_event_ids"].split()) == int(row["count"]) > 0
