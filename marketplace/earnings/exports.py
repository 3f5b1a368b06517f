"""Statement downloads: CSV (one row per statement line, with the source event ids behind it;
text cells that a spreadsheet would run as a formula are escaped) and PDF (fpdf2, pure Python,
core fonts only: it installs anywhere).

Amounts are written twice in the CSV: as integer minor units (to add up exactly) and formatted
with their currency for the reader's locale. The PDF shows the same sections and balances.
"""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from fpdf import FPDF
from sqlalchemy.orm import Session

from ledger.reports.statements import statement_events
from marketplace.earnings.statements import LineView, StatementView, event_sources
from marketplace.formatting import SafeCSVWriter, format_money

CSV_COLUMNS = (
    "section", "series", "episode", "partner_app", "country", "event_kind", "count",
    "amount_minor", "currency", "amount", "source_event_ids", "entry_ids",
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
        ]
    )
    return out.getvalue()


def pdf_money(amount: int, currency: str, locale: str) -> str:
    """Money for the PDF's core fonts (Latin-1): the locale's format, or with the ISO code
    when the symbol is outside Latin-1 (e.g. the euro sign)."""
    text = format_money(amount, currency, locale)
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        value = Decimal(amount).scaleb(-get_currency_precision(currency))
        return format_currency(
            value, currency, format="#,##0.00 ¤¤", locale=locale, currency_digits=True
        ).replace("\u00a0", " ")


def _latin(text: str) -> str:
    return (
        text.replace("\u00a0", " ")
        .replace("\u202f", " ")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def statement_pdf(view: StatementView, locale: str, holder: str) -> bytes:
    """The statement as a PDF document (A4, one table per section)."""
    currency, st = view.currency, view.statement

    def money(amount: int) -> str:
        return _latin(pdf_money(amount, currency, locale))

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin(f"Cliffhanger statement - {currency}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    period = f"{view.start.date().isoformat()} to {view.last_day.isoformat()} (UTC)"
    pdf.cell(0, 6, _latin(f"{holder} - {period}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def row(label: str, amount: int, bold: bool = False) -> None:
        pdf.set_font("Helvetica", "B" if bold else "", 9)
        pdf.cell(140, 5, _latin(label)[:95])
        pdf.cell(0, 5, money(amount), align="R", new_x="LMARGIN", new_y="NEXT")

    row("Opening balance", st.opening, bold=True)
    for section in view.earnings:
        row(f"Earnings: {section.title}", section.total, bold=True)
        for line in section.lines:
            episode = "-" if line.episode is None else f"ep. {line.episode}"
            row(
                f"   {episode}, {line.partner}, {line.country or '-'}"
                f" ({line.count} unlock{'' if line.count == 1 else 's'})",
                line.amount,
            )
    for title, lines in (("Refunds", view.refunds), ("Revenue pools", view.pools),
                         ("Payouts", view.payouts), ("Other", view.other)):  # fmt: skip
        if not lines:
            continue
        row(title, sum(line.amount for line in lines), bold=True)
        for line in lines:
            # Event lines (refunds, pool shares) by where they came from, as on the page: the
            # series alone left a month's refunds indistinguishable.
            label = line.label if line.drill is None else line.place
            row(f"   {label} ({line.count})", line.amount)
    pdf.ln(2)
    row("Closing balance", st.closing, bold=True)
    return bytes(pdf.output())
