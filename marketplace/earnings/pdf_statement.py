"""Statement PDFs (fpdf2): the summary first, then one table per section, page numbers.

Names are the cast's own, in any script: the PDF embeds Noto Sans (Latin, Cyrillic, Greek) with
Noto Sans CJK (a subset: see static/fonts/README.md), Arabic, Devanagari and Thai as fallbacks,
and shapes the text with HarfBuzz (uharfbuzz) so that Arabic joins and reads right to left and
Devanagari's vowel signs attach.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from flask_babel import gettext as _
from flask_babel import ngettext
from fontTools import ttLib  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.reports.statements import statement_events
from ledger.schema import Account, Posting
from marketplace.earnings.statements import StatementView
from marketplace.formatting import format_money

FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
FALLBACKS = (
    ("NotoSansCJK", "NotoSansCJKsubset-Regular.ttf"),
    ("NotoSansArabic", "NotoSansArabic-Regular.ttf"),
    ("NotoSansDevanagari", "NotoSansDevanagari-Regular.ttf"),
    ("NotoSansThai", "NotoSansThai-Regular.ttf"),
)


@dataclass(frozen=True)
class StatementSummary:
    """The statement's figures in one place (minor units of the statement's currency).

    Fields:
        gross: what viewers paid for the unlocks and pools behind the person's lines.
        partner_share: the partner apps' share of that gross (they keep it).
        platform_fee: the platform's fee on it.
        net: the person's own share of the period's earnings, pools and refunds.
        payouts: money paid out (negative) in the period; other: everything else.
        opening, closing: the balance before the period and at its end.
    """

    gross: int
    partner_share: int
    platform_fee: int
    net: int
    payouts: int
    other: int
    opening: int
    closing: int


def statement_summary(session: Session, view: StatementView) -> StatementSummary:
    """Sum the statement's events into gross, partner share, platform fee and the person's net."""
    st = view.statement
    events = statement_events(session, st.account_ids, view.start, view.end)
    entry_ids = sorted({event.entry_id for event in events})
    partner_share = platform_fee = 0
    # Chunks keep the IN list inside every database's parameter limit.
    for at in range(0, len(entry_ids), 5000):
        chunk = entry_ids[at : at + 5000]
        rows = session.execute(
            select(Account.owner_type, Account.purpose, func.sum(Posting.amount))
            .join(Account, Account.id == Posting.account_id)
            .where(Posting.entry_id.in_(chunk))
            .where(Account.currency == view.currency)
            .where(
                ((Account.owner_type == "partner") & (Account.purpose == "commission"))
                | ((Account.owner_type == "platform") & (Account.purpose == "fees"))
            )
            .group_by(Account.owner_type, Account.purpose)
        )
        for owner_type, _purpose, amount in rows:
            # Both are credited (negative postings) when money comes in.
            if owner_type == "partner":
                partner_share -= int(amount or 0)
            else:
                platform_fee -= int(amount or 0)
    net = view.section_total("earnings") + view.section_total("refunds")
    net += view.section_total("pools")
    return StatementSummary(
        gross=sum(event.gross for event in events),
        partner_share=partner_share,
        platform_fee=platform_fee,
        net=net,
        payouts=view.section_total("payouts"),
        other=view.section_total("other"),
        opening=st.opening,
        closing=st.closing,
    )


def pdf_money(amount: int, currency: str, locale: str) -> str:
    """Money for the PDF: the locale's format, with ordinary spaces (the fonts have no
    narrow no-break space)."""
    return format_money(amount, currency, locale).replace("\u00a0", " ").replace("\u202f", " ")


SHAPED = {"NotoSansArabic", "NotoSansDevanagari", "NotoSansThai"}
FONTS = (
    ("NotoSans", "", "NotoSans-Regular.ttf"),
    ("NotoSans", "B", "NotoSans-Bold.ttf"),
    *((family, "", filename) for family, filename in FALLBACKS),
)
_parsed_fonts: dict[tuple[str, str], TTFFont] = {}
_parsing = threading.Lock()


def _parsed_font(family: str, style: str, filename: str) -> TTFFont:
    """A font as fpdf2 parsed it (metrics, character map, glyph ids), once per process: the
    parse took most of a statement's time (0.9 s of 1.5 s for the six fonts)."""
    key = (family, style)
    with _parsing:
        font = _parsed_fonts.get(key)
        if font is None:
            loader = FPDF()
            loader.add_font(family, style, str(FONT_DIR / filename))
            font = _parsed_fonts[key] = cast(TTFFont, loader.fonts[f"{family.lower()}{style}"])
    return font


def _font_for(pdf: FPDF, parsed: TTFFont) -> TTFFont:
    """A document's own copy of a parsed font: the parsed metrics and character map are
    shared (read-only), while what a document changes is its own: the glyphs it uses (the
    subset), the widths looked up, and the fontTools font that embedding subsets in place
    (opened lazily from the file: only the tables the subset needs are read)."""
    font = copy.copy(parsed)
    font.i = len(pdf.fonts) + 1
    font.ttfont = ttLib.TTFont(parsed.ttffile, recalcTimestamp=False, lazy=True)
    font._hbfont = None
    font.cw = copy.copy(parsed.cw)  # a defaultdict: lookups insert defaults
    font.glyph_ids = dict(parsed.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    return font


def _fallbacks_for(text: str) -> list[str]:
    """The fallback fonts the text needs: those with a character Noto Sans lacks (each font
    embedded costs its subsetting, ~0.2 s for the CJK one, even when no glyph of it is used)."""
    latin = _parsed_font(*FONTS[0]).cmap
    missing = {code for code in map(ord, text) if code not in latin}
    return [
        family
        for family, filename in FALLBACKS
        if any(code in _parsed_font(family, "", filename).cmap for code in missing)
    ]


class _StatementPDF(FPDF):
    """A4 with Unicode fonts and "Page n of N" at the foot of every page; `text` is every
    string of the document that is not fixed English (names, titles), to pick the fallback
    fonts it needs."""

    def __init__(self, text: str = "") -> None:
        super().__init__(format="A4")
        fallbacks = _fallbacks_for(text)
        for family, style, filename in FONTS:
            if family == "NotoSans" or family in fallbacks:
                parsed = _parsed_font(family, style, filename)
                self.fonts[parsed.fontkey] = _font_for(self, parsed)
        self.set_fallback_fonts(fallbacks, exact_match=False)
        # HarfBuzz shaping (joining, reordering, mark placement) only for the scripts that
        # need it: it is a third of the time of a long statement.
        self.set_text_shaping(bool(set(fallbacks) & SHAPED))
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def footer(self) -> None:
        """Page numbers."""
        self.set_y(-12)
        self.set_font("NotoSans", "", 8)
        text = _("Page %(page)s of %(pages)s", page=self.page_no(), pages="{nb}")
        self.cell(0, 6, text, align="C")


def _names_in(view: StatementView, holder: str) -> str:
    """Every name the statement prints: holder, series, partner apps, countries, labels."""
    parts = [holder, view.currency]
    for section in view.earnings:
        parts.append(section.title)
        parts.extend(f"{line.partner} {line.country}" for line in section.lines)
    for lines in (view.refunds, view.pools, view.payouts, view.other):
        parts.extend(f"{line.label} {line.place}" for line in lines)
    return " ".join(parts)


def statement_pdf(
    view: StatementView, locale: str, holder: str, summary: StatementSummary | None = None
) -> bytes:
    """The statement as a PDF document: the summary on page 1, then one table per section."""
    currency, st = view.currency, view.statement

    def money(amount: int) -> str:
        return pdf_money(amount, currency, locale)

    pdf = _StatementPDF(_names_in(view, holder))
    pdf.add_page()
    pdf.set_font("NotoSans", "B", 16)
    pdf.cell(
        0, 10, _("Cliffhanger statement - %(currency)s", currency=currency),
        new_x="LMARGIN", new_y="NEXT",
    )
    pdf.set_font("NotoSans", "", 10)
    period = _(
        "%(start)s to %(end)s (UTC)", start=view.start.date().isoformat(),
        end=view.last_day.isoformat(),
    )
    pdf.cell(0, 6, f"{holder} - {period}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def row(label: str, amount: int, bold: bool = False) -> None:
        pdf.set_font("NotoSans", "B" if bold else "", 9)
        pdf.cell(140, 5, label[:95])
        pdf.cell(0, 5, money(amount), align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("NotoSans", "B", 12)
    pdf.cell(0, 8, _("Summary"), new_x="LMARGIN", new_y="NEXT")
    if summary is not None:
        row(_("Gross sales behind your lines"), summary.gross)
        row(_("Partner apps' share"), -summary.partner_share)
        row(_("Platform fee"), -summary.platform_fee)
        row(_("Your share (net)"), summary.net, bold=True)
    else:
        row(_("Your share (net)"), view.section_total("earnings") + view.section_total("refunds")
            + view.section_total("pools"), bold=True)  # fmt: skip
    row(_("Opening balance"), st.opening)
    row(_("Paid out"), view.section_total("payouts"))
    if view.other:
        row(_("Other"), view.section_total("other"))
    row(_("Closing balance"), st.closing, bold=True)
    pdf.ln(4)

    pdf.set_font("NotoSans", "B", 12)
    pdf.cell(0, 8, _("Details"), new_x="LMARGIN", new_y="NEXT")
    row(_("Opening balance"), st.opening, bold=True)
    for section in view.earnings:
        row(_("Earnings: %(series)s", series=section.title), section.total, bold=True)
        for line in section.lines:
            episode = "-" if line.episode is None else _("ep. %(number)s", number=line.episode)
            row(
                f"   {episode}, {line.partner}, {line.country or '-'} ("
                + ngettext("%(num)d unlock", "%(num)d unlocks", line.count) + ")",
                line.amount,
            )
    for title, lines in ((_("Refunds"), view.refunds), (_("Revenue pools"), view.pools),
                         (_("Payouts"), view.payouts), (_("Other"), view.other)):  # fmt: skip
        if not lines:
            continue
        row(title, sum(line.amount for line in lines), bold=True)
        for line in lines:
            # Event lines (refunds, pool shares) by where they came from, as on the page: the
            # series alone left a month's refunds indistinguishable.
            label = line.label if line.drill is None else line.place
            row(f"   {label} ({line.count})", line.amount)
    pdf.ln(2)
    row(_("Closing balance"), st.closing, bold=True)
    by_type = view.by_type()
    if by_type:
        pdf.ln(4)
        pdf.set_font("NotoSans", "B", 12)
        pdf.cell(0, 8, _("Earnings by revenue type"), new_x="LMARGIN", new_y="NEXT")
        for name, count, amount, coins in by_type:
            spent = ""
            if coins:
                spent = "; " + _(
                    "%(coins)s coins, %(bonus)s bonus coins",
                    coins=coins.coins,
                    bonus=coins.bonus_coins,
                )
            row(f"   {name} ({count}{spent})", amount)
    return bytes(pdf.output())
