"""Statement PDFs embed only the fonts their names need (each font embedded is subset at every
download), and the fonts are parsed once per process, whatever the number of documents."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from marketplace.earnings import pdf_statement
from marketplace.earnings.exports import statement_pdf
from marketplace.earnings.statements import participant_statement
from tests.statements.conftest import T0


def _fonts(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def test_fonts_follow_the_names_and_are_parsed_once(db, world):
    world.unlock(T0 + timedelta(hours=1), gross=1999)
    view = participant_statement(db.session, world.participant.id, "USD", T0, T0 + timedelta(1))
    latin = statement_pdf(view, "en_US", "Łukasz Żółć")
    assert _fonts(latin) == {"NotoSans", "NotoSansBold"}
    parsed = dict(pdf_statement._parsed_fonts)
    korean = statement_pdf(view, "en_US", "김민준")
    assert any("CJK" in name for name in _fonts(korean))
    assert "김민준" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(korean)).pages)
    # The same parsed fonts serve every document: none parsed again.
    assert all(pdf_statement._parsed_fonts[key] is font for key, font in parsed.items())
