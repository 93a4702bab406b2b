"""The Chinese font every printed document embeds (WenQuanYi Micro Hei, Apache-2.0; see README.md here).

A PDF that only names a font leaves the glyphs to the reader: poppler draws
its Chinese blank and Ghostscript drops its digits. reportlab embeds a subset
of this TrueType font in each document instead. No Flask here.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import BinaryIO

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

#: The name documents set their text in.
FONT = "WenQuanYiMicroHei"
FONT_FILE = Path(__file__).with_name("wqy-microhei-subset.ttf")


@functools.cache
def register_font() -> str:
    """Register the font with reportlab once per process (parsing 20,000 glyphs is the slow part); returns its name."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT


def a4_canvas(buffer: BinaryIO) -> canvas.Canvas:
    """An A4 canvas whose every text, the canvas's own default included, is set in the embedded font."""
    return canvas.Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=register_font(), initialFontSize=10)
