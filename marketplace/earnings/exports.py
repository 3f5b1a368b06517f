"""Statement downloads: CSV (one row per statement line, with the source event ids behind it;
text cells that a spreadsheet would run as a formula are escaped) and PDF (pdf_statement.py).

Amounts are written twice in the CSV: as integer minor units (to add up exactly) and formatted
with their currency for the reader's locale. The PDF shows the same sections and balances.
"""

from __future__ import annotations

import io
from collections import defaultdict

from sqlalchemy.orm import Session

from ledger.reports.statements import statement_events
from marketplace.earnings.pdf_statement import pdf_money, statement_pdf, statement_summary
from marketplace.earnings.statements import LineView, StatementView, event_sources
from marketplace.formatting import SafeCSVWriter, format_money

__all__ = ["pdf_money", "statement_csv", "statement_pdf", "statement_summary"]

CSV_COLUMNS = (
    "section", "series", "episode", "partner_app", "country", "event_kind", "count",
    "amount_minor", "currency", "amount", "source_event_ids", "entry_ids", "coins",
    "bonus_coins",
)  # fmt: skip


def _line_key(kind: str, values: dict, fields: tuple[str, ...]) -> tuple:
    return (kind, *(("" if values.get(n) is None else values.get(n)) for n in fields))


def source_ids_by_line(session: Session, view: StatementView) -> dict[tuple, list[str]]:
    """The source event ids (the partner app's own ids) behind each event line of the
    statement (lines by the statement's fields: every field for downloads)."""
    fields = view.statement.fields
    events = statement_events(session, view.statement.account_ids, view.start, view.end)
    sources = event_sources(session, [event.ref for event in events if event.ref])
    found: dict[tuple, list[str]] = defaultdict(list)
    for event in events:
        if not event.ref:  # a bucket's rounding: no source event
            continue
        kind = "earning" if event.gross > 0 else "refund"
        found[_line_key(kind, event.attributes, fields)].append(sources[event.ref])
    return found


def _row(section: str, line: LineView, currency: str, locale: str, sources: list[str]) -> list:
    drill = line.drill or {}
    return [
        section,
        line.series,
        "" if line.episode is None else line.episode,
        line.partner,
        line.country,
        drill.get("kind", line.label),
        line.count,
        line.amount,
        currency,
        format_money(line.amount, currency, locale),
        " ".join(sources),
        " ".join(str(e) for e in line.entry_ids),
        "" if line.coins is None else line.coins.coins,
        "" if line.coins is None else line.coins.bonus_coins,
    ]


def statement_csv(session: Session, view: StatementView, locale: str) -> str:
    """The statement as CSV: an opening row, one row per line, a closing row."""
    currency = view.currency
    sources = source_ids_by_line(session, view)
    out = io.StringIO()
    writer = SafeCSVWriter(out)  # titles and names are the creators' and partners' text
    writer.writerow(CSV_COLUMNS)
    st = view.statement
    blank = ["", "", "", "", "", ""]
    writer.writerow(
        [
            "opening",
            *blank,
            st.opening,
            currency,
            format_money(st.opening, currency, locale),
            "",
            "",
            "",
            "",
        ]
    )
    sections = [("earnings", line) for s in view.earnings for line in s.lines]
    sections += [("refunds", x) for x in view.refunds] + [("pools", x) for x in view.pools]
    sections += [("payouts", x) for x in view.payouts] + [("other", x) for x in view.other]
    for section, line in sections:
        key = _line_key(line.kind, line.drill, st.fields) if line.drill else None
        writer.writerow(_row(section, line, currency, locale, sources.get(key, []) if key else []))
    writer.writerow(
        [
            "closing",
            *blank,
            st.closing,
            currency,
            format_money(st.closing, currency, locale),
            "",
            "",
            "",
            "",
        ]
    )
    return out.getvalue()
