"""Rebuild NotoSansCJKsubset-Regular.ttf from Debian's Noto Sans CJK (fonts-noto-cjk).

Keeps the ideographs of GB 2312 and JIS X 0208 (9,788: the common Chinese and Japanese ones),
every Hangul syllable (11,172), kana, Hangul jamo and CJK punctuation, then converts the CFF
outlines to TrueType ones (PDF readers extract text from fpdf2's TrueType CID fonts exactly; from
its CFF ones they insert spaces between ideographs). Run from the repository root:

    .venv/bin/python static/fonts/make_cjk_subset.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
TARGET = Path(__file__).with_name("NotoSansCJKsubset-Regular.ttf")
RANGES = ((0x3000, 0x303F), (0x3040, 0x30FF), (0x3130, 0x318F), (0xFF00, 0xFFEF))


def code_points() -> list[int]:
    """The kept characters."""
    kept = set()
    for cp in range(0x4E00, 0xA000):
        for encoding in ("gb2312", "shift_jis"):
            try:
                chr(cp).encode(encoding)
            except UnicodeEncodeError:
                continue
            kept.add(cp)
            break
    kept.update(range(0xAC00, 0xD7A4))
    for first, last in RANGES:
        kept.update(range(first, last + 1))
    return sorted(kept)


def to_truetype(font: TTFont) -> None:
    """Replace the font's CFF outlines by quadratic (glyf) ones."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                 "maxComponentElements"):  # fmt: skip
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    post = font["post"]
    post.formatType, post.extraNames, post.mapping, post.glyphOrder = 2.0, [], {}, order
    font.sfntVersion = "\000\001\000\000"


def main() -> None:
    """Subset, convert, save."""
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} is missing: apt-get install fonts-noto-cjk")
    font = TTFont(SOURCE, fontNumber=0)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=code_points())
    subsetter.subset(font)
    to_truetype(font)
    font.save(TARGET)
    print(f"wrote {TARGET} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
