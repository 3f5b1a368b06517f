"""Year-end: the data rows of the year's information returns, and each payee's annual summary.

`flask tax year-end YEAR -o DIR` writes, from the ledger's figures (marketplace.tax.figures):
- 1099-MISC.csv: a row per US payee (W-9) and currency whose royalties (box 2) reach
  TAX_1099_THRESHOLD (minor units of USD; other currencies are always listed: the filer
  converts them into USD), with the tax withheld (box 4);
- 1042-S.csv: a row per foreign payee (W-8BEN) and currency: income code 11 (motion picture
  or television copyright royalties), gross income (box 2), chapter 3, the exemption code and
  rate of the withholding applied (boxes 3a/3b), the tax withheld (box 7a), the recipient
  (boxes 13a-13i);
- summary.csv: every payee paid in the year and currency with where they are reported
  (1099-MISC, 1042-S, below threshold, no tax profile), so its totals equal the ledger's;
- summaries/<user id>.pdf: each payee's annual earnings summary (what they also download).
The TIN appears in clear in the two form files and nowhere else.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency, get_currency_precision
from flask import current_app
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.clock import utcnow
from marketplace.tax.figures import PayeeYear, payee_years, year_bounds
from marketplace.tax.models import TaxProfile
from marketplace.tax.services import withholding_of
from marketplace.tax.tin_vault import open_tin

FORM_1099_MISC = (
    "tax_year",
    "payer_name",
    "payer_tin",
    "recipient_tin_type",
    "recipient_tin",
    "recipient_name",
    "recipient_address",
    "recipient_country",
    "box_2_royalties",
    "box_4_federal_income_tax_withheld",
    "currency",
    "user_id",
)
FORM_1042_S = (
    "tax_year",
    "withholding_agent_name",
    "withholding_agent_ein",
    "box_1_income_code",
    "box_2_gross_income",
    "box_3_chapter_indicator",
    "box_3a_exemption_code",
    "box_3b_tax_rate",
    "box_7a_federal_tax_withheld",
    "box_13a_recipient_name",
    "box_13b_recipient_country_code",
    "box_13c_recipient_address",
    "box_13i_recipient_foreign_tin",
    "treaty_article",
    "currency",
    "user_id",
)
SUMMARY = ("user_id", "email", "form", "reported_on", "currency", "paid", "withheld", "net")
MOTION_PICTURE_ROYALTIES = "11"


def money_text(amount: int, currency: str) -> str:
    """ "EUR 1,234.50": the ISO code keeps it within the PDF's core fonts (Latin-1)."""
    major = Decimal(amount).scaleb(-get_currency_precision(currency))
    return format_currency(major, currency, format="¤¤ #,##0.00", locale="en_US")


@dataclass
class YearEnd:
    """A generated year: the rows of each file, by name."""

    forms_1099: list[dict]
    forms_1042: list[dict]
    summary: list[dict]


def _profiles(session: Session, user_ids: set[int]) -> dict[int, TaxProfile]:
    rows = session.scalars(select(TaxProfile).where(TaxProfile.user_id.in_(user_ids)))
    return {p.user_id: p for p in rows}


def build_year_end(session: Session, year: int) -> YearEnd:
    """The rows of the year's files (see the module docstring)."""
    config = current_app.config
    years = payee_years(session, year)
    ids = {y.user_id for y in years}
    profiles = _profiles(session, ids)
    emails = dict(
        session.execute(select(User.id, User.email).where(User.id.in_(ids))).tuples().all()
    )
    result = YearEnd([], [], [])
    for payee in years:
        profile = profiles.get(payee.user_id)
        for currency, figures in sorted(payee.currencies.items()):
            if figures.paid == 0 and figures.withheld == 0:
                continue
            common = {"currency": currency, "user_id": payee.user_id}
            if profile is None:
                reported = "no tax profile"
            elif profile.us_person:
                below = currency == "USD" and figures.paid < config["TAX_1099_THRESHOLD"]
                reported = "below threshold" if below else "1099-MISC"
                if not below:
                    result.forms_1099.append(
                        {
                            "tax_year": year,
                            "payer_name": config["TAX_PAYER_NAME"],
                            "payer_tin": config["TAX_PAYER_TIN"],
                            "recipient_tin_type": profile.tin_type,
                            "recipient_tin": open_tin(profile.tin_encrypted) or "",
                            "recipient_name": profile.legal_name,
                            "recipient_address": profile.address.replace("\n", ", "),
                            "recipient_country": profile.address_country,
                            "box_2_royalties": figures.paid,
                            "box_4_federal_income_tax_withheld": figures.withheld,
                            **common,
                        }
                    )
            else:
                reported = "1042-S"
                withholding = withholding_of(profile)
                result.forms_1042.append(
                    {
                        "tax_year": year,
                        "withholding_agent_name": config["TAX_PAYER_NAME"],
                        "withholding_agent_ein": config["TAX_PAYER_TIN"],
                        "box_1_income_code": MOTION_PICTURE_ROYALTIES,
                        "box_2_gross_income": figures.paid,
                        "box_3_chapter_indicator": "3",
                        "box_3a_exemption_code": "04" if withholding.case == "nra_treaty" else "00",
                        "box_3b_tax_rate": f"{withholding.rate_bps / 100:05.2f}",
                        "box_7a_federal_tax_withheld": figures.withheld,
                        "box_13a_recipient_name": profile.legal_name,
                        "box_13b_recipient_country_code": profile.residence_country,
                        "box_13c_recipient_address": profile.address.replace("\n", ", "),
                        "box_13i_recipient_foreign_tin": open_tin(profile.tin_encrypted) or "",
                        "treaty_article": profile.treaty_article or "",
                        **common,
                    }
                )
            result.summary.append(
                {
                    "user_id": payee.user_id,
                    "email": emails.get(payee.user_id, ""),
                    "form": profile.form if profile else "",
                    "reported_on": reported,
                    "currency": currency,
                    "paid": figures.paid,
                    "withheld": figures.withheld,
                    "net": figures.net,
                }
            )
    return result


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_year_end(session: Session, year: int, directory: Path) -> YearEnd:
    """Write the year's files into `directory` (created if need be); returns their rows."""
    directory.mkdir(parents=True, exist_ok=True)
    result = build_year_end(session, year)
    _write_csv(directory / "1099-MISC.csv", FORM_1099_MISC, result.forms_1099)
    _write_csv(directory / "1042-S.csv", FORM_1042_S, result.forms_1042)
    _write_csv(directory / "summary.csv", SUMMARY, result.summary)
    summaries = directory / "summaries"
    summaries.mkdir(exist_ok=True)
    for user_id in sorted({row["user_id"] for row in result.summary}):
        (summaries / f"{user_id}.pdf").write_bytes(annual_summary_pdf(session, user_id, year))
    return result


def summary_years(session: Session, user_id: int) -> list[int]:
    """The years a payee can download a summary of: the years since they joined, newest
    first (a year without payouts gives a summary that says so)."""
    user = session.get(User, user_id)
    if user is None:
        return []
    return list(range(utcnow().year, user.created_at.year - 1, -1))


def _latin(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def annual_summary_pdf(session: Session, user_id: int, year: int) -> bytes:
    """The payee's annual earnings summary: per currency what they earned, were paid, had
    withheld and received, Stripe's conversions, and the tax form on file (TIN masked)."""
    user = session.get_one(User, user_id)
    [payee] = payee_years(session, year, {user_id}) or [PayeeYear(user_id, year)]
    profile = session.scalar(select(TaxProfile).where(TaxProfile.user_id == user_id))
    start, end = year_bounds(year)
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin(f"Cliffhanger annual summary {year}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    name = profile.legal_name if profile else (user.display_name or user.email)
    pdf.cell(0, 6, _latin(f"{name} <{user.email}>"), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0,
        6,
        f"{start:%d %B %Y} to {end:%d %B %Y} (UTC, end excluded)",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    form = f"{profile.form}, {profile.masked_tin}" if profile else "none on file"
    pdf.cell(0, 6, _latin(f"Tax form: {form}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    def row(label: str, value: str, bold: bool = False) -> None:
        pdf.set_font("Helvetica", "B" if bold else "", 10)
        pdf.cell(100, 6, _latin(label))
        pdf.cell(60, 6, _latin(value), align="R", new_x="LMARGIN", new_y="NEXT")

    if not payee.currencies:
        row("No earnings or payouts this year.", "")
    for currency, figures in sorted(payee.currencies.items()):
        row(currency, "", bold=True)
        row("Earned (unlocks, refunds, pools, adjustments)", money_text(figures.earned, currency))
        row("Paid out (gross)", money_text(figures.paid, currency))
        row("US tax withheld", money_text(figures.withheld, currency))
        row("Transferred to you (net)", money_text(figures.net, currency), bold=True)
        pdf.ln(2)
    for sent_cur, sent, got_cur, got, rate in payee.conversions:
        row(
            f"Converted by Stripe at {rate}",
            f"{money_text(sent, sent_cur)} -> {money_text(got, got_cur)}",
        )
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()
