"""The Chinese font every printed document embeds (WenQuanYi Micro Hei, Apache-2.0; see README.md here).

A PDF that only names a font leaves the glyphs to the reader: poppler draws
its Chinese blank and Ghostscript drops its digits. reportlab embeds a subset
of this TrueType font in each document instead. Documents bound for one file
(a batch of certificates) can share one subset instead: `SharedSubset` gives
each the same character codes and leaves the font out of them, and
`SharedSubset.embedding()` is the one document that carries it. No Flask here.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import BinaryIO

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont
from reportlab.pdfgen import canvas

#: The name documents set their text in.
FONT = "WenQuanYiMicroHei"
FONT_FILE = Path(__file__).with_name("wqy-microhei-subset.ttf")
# Streams compressed but not also spelled in ASCII85: a fifth smaller, and one pass less over every page and font.
rl_config.useA85 = 0
#: Marks a font dictionary that names its subset but leaves its glyphs to the file's shared one.
SHARED = "/TimebankSharedSubset"
#: Texts a shared subset keeps encoded: the table's activities, places and units repeat from one certificate to the next.
ENCODED_TEXTS = 4096


class _EmbeddedFont(TTFont):
    """reportlab's TrueType font, which can also leave a document's subsets out for a `SharedSubset` to embed once."""

    def splitString(self, text, doc, encoding="utf-8"):  # noqa: ANN001, ANN201 - reportlab's signature
        """The text in subset codes; in a shared subset, whose codes never change, each text is encoded once."""
        state = self.state.get(doc)
        encoded = getattr(state, "encoded", None)
        if encoded is None:
            return super().splitString(text, doc, encoding)
        found = encoded.get(text)
        if found is None:
            if len(encoded) >= ENCODED_TEXTS:  # a batch's memory stays flat: names and serials do not repeat
                encoded.clear()
            found = encoded[text] = super().splitString(text, doc, encoding)
        return found

    def addObjects(self, doc) -> None:  # noqa: ANN001 - reportlab's hook, called as a document saves
        state = self.state.get(doc)
        if state is None or not getattr(state, "shared", False):
            super().addObjects(doc)
            return
        fonts = doc.idToObject["BasicFonts"].dict
        for number in range(len(state.subsets)):
            internal = self.getSubsetInternalName(number, doc)[1:]
            base = (SUBSETN(number) + b"+" + self.face.name + self.face.subfontNameX).decode("pdfdoc")
            placeholder = pdfdoc.PDFDictionary({"Type": "/Font", "Subtype": "/TrueType", "BaseFont": pdfdoc.PDFName(base), SHARED[1:]: "true"})
            doc.Reference(placeholder, internal)
            fonts[internal] = placeholder
        state.internalName = None  # the next document names the font afresh
        del self.state[doc]


@functools.cache
def register_font() -> str:
    """Register the font with reportlab once per process (parsing 20,000 glyphs is the slow part); returns its name."""
    pdfmetrics.registerFont(_EmbeddedFont(FONT, str(FONT_FILE)))
    return FONT


def a4_canvas(buffer: BinaryIO) -> canvas.Canvas:
    """An A4 canvas whose every text, the canvas's own default included, is set in the embedded font."""
    return canvas.Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=register_font(), initialFontSize=10)


class SharedSubset:
    """One subset of the font for many documents of one file: each character has the same code in all of them.

    Codes are only ever added, so the subset embedded at the end covers every
    document drawn before it. Not for documents drawn at the same time.
    """

    def __init__(self) -> None:
        self.font = pdfmetrics.getFont(register_font())
        self.state = TTFont.State(self.font._asciiReadable, self.font)
        self.state.shared, self.state.encoded = True, {}

    def attach(self, pdf: canvas.Canvas) -> None:
        """Set the canvas's text in the shared codes, its font left out for `embedding()` to carry."""
        self.state.internalName = None
        self.font.state[pdf._doc] = self.state

    def embedding(self) -> bytes:
        """A one-page PDF whose fonts are the shared subsets, glyphs and all, covering every character drawn so far."""
        buffer = io.BytesIO()
        pdf = a4_canvas(buffer)
        self.state.shared, self.state.internalName = False, None
        self.font.state[pdf._doc] = self.state
        pdf.setFont(FONT, 10)
        pdf.drawString(0, 0, " ")  # puts the font, every subset of it, in the document
        pdf.showPage()
        pdf.save()
        return buffer.getvalue()
