"""Statement PDFs for a cast from anywhere: every name readable (extracted intact by pypdf), the
summary on page 1 and page numbers on every page."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from marketplace.earnings.exports import statement_pdf, statement_summary
from marketplace.earnings.statements import participant_statement
from tests.statements.conftest import T0

# Six scripts whose text pypdf extracts in reading order: the names must come back exactly.
NAMES = {
    "Latin": "Łukasz Żółć",
    "Han": "王小明",
    "Hangul": "김민준",
    "Cyrillic": "Анна Петрова",
    "Greek": "Γιώργος Παπαδόπουλος",
    "Thai": "สมชาย ใจดี",
}
# Shaped scripts: Arabic is laid out right to left (pypdf extracts the words in visual order)
# and Devanagari's vowel signs are reordered, positioned marks (pypdf may put a space or a
# control character beside one): their words are compared without those.
SHAPED = {"Arabic": "محمد علي", "Devanagari": "अनिल कुमार"}


def _pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_names_in_six_scripts_come_back_intact(db, world):
    world.series.title = "夜勤 · Ночная смена"
    world.partners[0].name = "드라마앱"
    world.unlock(T0 + timedelta(hours=1), gross=1999)
    view = participant_statement(db.session, world.participant.id, "USD", T0, T0 + timedelta(1))
    for script, name in {**NAMES, **SHAPED}.items():
        data = statement_pdf(view, "en_US", name)
        text = "\n".join(_pdf_text(data))
        if script in NAMES:
            assert name in text, (script, text)
        else:
            compact = "".join(c for c in text if c != " " and c.isprintable())
            for word in name.split():
                assert word.replace(" ", "") in compact, (script, text)
        assert "夜勤 · Ночная смена" in text and "드라마앱" in text


def test_the_summary_is_on_page_one_and_every_page_is_numbered(db, world):
    for n in range(400):
        world.unlock(T0 + timedelta(minutes=n), gross=1000, episode=n % 60 + 1, country="US")
    world.payout(world.member, 1_000, T0 + timedelta(days=3))
    view = participant_statement(db.session, world.participant.id, "USD", T0, T0 + timedelta(31))
    summary = statement_summary(db.session, view)
    pages = _pdf_text(statement_pdf(view, "en_US", "Test Person", summary))
    assert len(pages) > 1
    first = pages[0]
    # 400 unlocks of $10.00: partner app keeps 30 %, the platform 10 % of the rest, the
    # participant holds 50 % of what remains.
    assert summary.gross == 400_000
    assert summary.partner_share == 120_000 and summary.platform_fee == 28_000
    assert summary.net == 126_000
    for label, figure in (
        ("Gross sales behind your lines", "$4,000.00"),
        ("Partner apps' share", "-$1,200.00"),
        ("Platform fee", "-$280.00"),
        ("Your share (net)", "$1,260.00"),
        ("Opening balance", "$0.00"),
        ("Closing balance", "$1,250.00"),
    ):
        line = next((x for x in first.splitlines() if x.startswith(label)), "")
        assert figure in line, (label, first)
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
