"""A settlement statement as JSON (API and CLI), CSV and PDF (fpdf2, as participants'
statements)."""

from __future__ import annotations

import io

from fpdf import FPDF

from marketplace.formatting import SafeCSVWriter, format_money
from marketplace.settlements.models import SettlementStatement

TOTAL_FIELDS = (
    "unlocks",
    "unlocks_gross",
    "refunds_gross",
    "pools_gross",
    "gross",
    "partner_share",
    "amount_owed",
    "paid",
)
LINE_FIELDS = ("unlocks", "unlocks_gross", "refunds_gross", "pools_gross", "gross")


def statement_json(statement: SettlementStatement, lines: bool = True) -> dict:
    """The statement (amounts in minor units of `currency`), with its lines if asked."""
    body: dict = {
        "id": statement.id,
        "partner_id": statement.partner_id,
        "period": statement.label,
        "period_start": statement.period_start.isoformat(),
        "period_end": statement.period_end.isoformat(),
        "currency": statement.currency,
        **{field: getattr(statement, field) for field in TOTAL_FIELDS},
        "outstanding": statement.outstanding,
        "due_at": statement.due_at.isoformat(),
        "closed_at": statement.closed_at.isoformat(),
    }
    if lines:
        body["lines"] = [
            {
                "series_id": line.series_id,
                "episode": line.episode,
                "country": line.country,
                **{field: getattr(line, field) for field in LINE_FIELDS},
            }
            for line in statement.lines
        ]
    return body


def statement_csv(statement: SettlementStatement) -> str:
    """One row per line (minor units), then the totals."""
    out = io.StringIO()
    writer = SafeCSVWriter(out)
    writer.writerow(["series_id", "episode", "country", *LINE_FIELDS, "currency"])
    for line in statement.lines:
        writer.writerow(
            [
                line.series_id,
                "" if line.episode is None else line.episode,
                line.country or "",
                *(getattr(line, field) for field in LINE_FIELDS),
                statement.currency,
            ]
        )
    writer.writerow([])
    for field in TOTAL_FIELDS:
        writer.writerow([field, getattr(statement, field)])
    writer.writerow(["due_at", statement.due_at.isoformat()])
    return out.getvalue()


def _latin(text: str) -> str:
    return (
        text.replace("\u00a0", " ")
        .replace("\u202f", " ")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def statement_pdf(statement: SettlementStatement, partner_name: str) -> bytes:
    """The statement as an A4 PDF: totals, then one row per line."""
    currency = statement.currency

    def money(amount: int) -> str:
        return _latin(format_money(amount, currency, "en_US"))

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin(f"Settlement {statement.label} - {partner_name}"), new_x="LMARGIN",
             new_y="NEXT")  # fmt: skip
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, f"Due {statement.due_at.date().isoformat()} ({currency})", new_x="LMARGIN",
             new_y="NEXT")  # fmt: skip
    for field in TOTAL_FIELDS:
        pdf.cell(100, 5, field.replace("_", " "))
        value = getattr(statement, field)
        pdf.cell(0, 5, str(value) if field == "unlocks" else money(value), align="R",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, "Series / episode / country: unlocks, gross", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for line in statement.lines:
        where = f"{line.series_id} / {line.episode or '-'} / {line.country or '-'}"
        pdf.cell(100, 5, _latin(where))
        pdf.cell(30, 5, str(line.unlocks), align="R")
        pdf.cell(0, 5, money(line.gross), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
