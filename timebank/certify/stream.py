"""One PDF written page by page to a file, from many small PDFs, in memory flat in their number.

reportlab keeps every page of a document in memory until it saves, so a
batch of 10,000 certificates drawn on one canvas would hold them all. Here
each certificate is drawn as a small PDF of its own, and its pages are copied
into the open output file at once: only the objects' file offsets (8 bytes
each) are kept until the end. Fonts, the same in every certificate, are
written once and shared where they hold the same characters. Documents drawn
with one `SharedSubset` (timebank/fonts) name their font without its glyphs:
each subset is given its object number when first met and written once, at
`close`, from the subset's embedding, which covers every character drawn.
"""

from __future__ import annotations

import hashlib
import io
from array import array
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    PdfObject,
    StreamObject,
)

from timebank.fonts import SHARED

CATALOG, PAGES = 1, 2


class _Ref(PdfObject):
    """A reference to an object of the output file."""

    def __init__(self, number: int) -> None:
        self.number = number

    def write_to_stream(self, stream, encryption_key=None) -> None:  # noqa: ANN001
        stream.write(b"%d 0 R" % self.number)

    def offset_unset(self, offsets: array) -> bool:
        """True while the object it refers to is not written yet."""
        return offsets[self.number] == 0


def _font_key(font: DictionaryObject) -> tuple[str, ...]:
    """What makes two documents' fonts the same one.

    An embedded subset is named by its place (`AAAAAA+…`), not its glyphs, so
    two certificates' subsets share a name but hold different characters: the
    characters each code maps to (its ToUnicode map) tell them apart.
    """
    to_unicode = font.get("/ToUnicode")
    glyphs = hashlib.sha1(to_unicode.get_object().get_data()).hexdigest() if to_unicode is not None else ""
    return (str(font.get("/BaseFont")), str(font.get("/Encoding")), glyphs)


class StreamingPdf:
    """Append PDFs' pages to `out` as they come; `close()` writes the page tree, catalog and cross-reference table."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.offsets = array("Q", [0, 0, 0])  # object number -> offset; 0 is the free head
        self.pages = array("Q")
        self.fonts: dict[tuple[str, ...], _Ref] = {}
        self.shared: dict[str, _Ref] = {}  # a shared subset's name -> its object, written at close
        self.position = 0
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def _allocate(self) -> int:
        self.offsets.append(0)
        return len(self.offsets) - 1

    def _emit(self, number: int, obj: PdfObject) -> None:
        buffer = io.BytesIO()
        obj.write_to_stream(buffer)
        self.offsets[number] = self.position
        self._write(b"%d 0 obj\n" % number + buffer.getvalue() + b"\nendobj\n")

    def _shared(self, font: DictionaryObject) -> _Ref:
        """The object a shared subset's font is written to at close, numbered when first met."""
        name = str(font["/BaseFont"])
        if name not in self.shared:
            self.shared[name] = _Ref(self._allocate())
        return self.shared[name]

    def _copy(self, obj: PdfObject, memo: dict[int, _Ref]) -> PdfObject:
        """The object with every reference renumbered into the output, writing what it refers to."""
        if isinstance(obj, IndirectObject):
            if obj.idnum in memo:
                return memo[obj.idnum]
            target = obj.get_object()
            font = None
            if isinstance(target, DictionaryObject) and SHARED in target:
                memo[obj.idnum] = self._shared(target)
                return memo[obj.idnum]
            if isinstance(target, DictionaryObject) and target.get("/Type") == "/Font":
                font = _font_key(target)
                if font in self.fonts:
                    memo[obj.idnum] = self.fonts[font]
                    return self.fonts[font]
            ref = memo[obj.idnum] = _Ref(self._allocate())
            if font is not None:
                self.fonts[font] = ref
            self._emit(ref.number, self._copy(target, memo))
            return ref
        if isinstance(obj, StreamObject):
            copied = StreamObject()
            copied.set_data(b"")
            copied._data = obj._data  # already encoded: copied as it is
            for key, value in obj.items():
                if key != "/Length":
                    copied[NameObject(key)] = self._copy(value, memo)
            return copied
        if isinstance(obj, DictionaryObject) and SHARED in obj:
            return self._shared(obj)
        if isinstance(obj, DictionaryObject):
            copied_dict = DictionaryObject()
            for key, value in obj.items():
                copied_dict[NameObject(key)] = self._copy(value, memo)
            return copied_dict
        if isinstance(obj, ArrayObject):
            return ArrayObject(self._copy(value, memo) for value in obj)
        return obj

    def add(self, document: bytes) -> int:
        """Append every page of one PDF; returns how many pages it had."""
        reader = PdfReader(io.BytesIO(document))
        memo: dict[int, _Ref] = {}
        count = 0
        for page in reader.pages:
            copied = DictionaryObject()
            for key, value in page.items():
                if key != "/Parent":
                    copied[NameObject(key)] = self._copy(value, memo)
            copied[NameObject("/Parent")] = _Ref(PAGES)
            number = self._allocate()
            self._emit(number, copied)
            self.pages.append(number)
            count += 1
        return count

    def close(self, title: str = "", *, embedding: bytes | None = None) -> None:
        """Write the shared subsets from `embedding`, the page tree, the catalog, the cross-reference table and the trailer."""
        if self.shared:
            if embedding is None:
                raise ValueError("The pages name a shared font subset: its embedding is needed to close the file.")
            reader = PdfReader(io.BytesIO(embedding))
            memo: dict[int, _Ref] = {}
            for page in reader.pages:
                for reference in page["/Resources"]["/Font"].values():
                    font = reference.get_object()
                    ref = self.shared.get(str(font["/BaseFont"]))
                    if ref is not None and ref.offset_unset(self.offsets):
                        self._emit(ref.number, self._copy(font, memo))
            missing = [name for name, ref in self.shared.items() if ref.offset_unset(self.offsets)]
            if missing:
                raise ValueError(f"The embedding lacks the shared font subsets {missing}.")
        kids = b" ".join(b"%d 0 R" % n for n in self.pages)
        self.offsets[PAGES] = self.position
        self._write(b"%d 0 obj\n<< /Type /Pages /Count %d /Kids [" % (PAGES, len(self.pages)) + kids + b"] >>\nendobj\n")
        self.offsets[CATALOG] = self.position
        self._write(b"%d 0 obj\n<< /Type /Catalog /Pages %d 0 R >>\nendobj\n" % (CATALOG, PAGES))
        info = self._allocate()
        self.offsets[info] = self.position
        encoded = ("\ufeff" + title).encode("utf-16-be") if title else b""
        self._write(b"%d 0 obj\n<< /Title <" % info + encoded.hex().encode() + b"> /Producer (timebank) >>\nendobj\n")
        start = self.position
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self.offsets))
        for offset in self.offsets[1:]:
            self._write(b"%010d 00000 n \n" % offset)
        self._write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(self.offsets), CATALOG, info, start))
