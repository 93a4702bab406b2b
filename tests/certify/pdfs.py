"""Reading certificates back: their text (pypdf) and their QR code, drawn from the page's own vector squares."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections import Counter

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from pypdf import PdfReader

RECT = re.compile(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re")


def pdf_text(data: bytes) -> str:
    """All the text of the PDF, page after page."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def qr_on_page(data: bytes, page: int = -1, scale: float = 4.0) -> str:
    """The text of the QR code drawn on a page: its filled squares are painted on white and read by zxing-cpp."""
    content = PdfReader(io.BytesIO(data)).pages[page].get_contents().get_data()
    rects = [tuple(float(v) for v in m.groups()) for m in RECT.finditer(content)]
    assert rects, "no QR code drawn on the page"
    # The code's runs of modules share one height; the page's frame and boxes do not.
    module = Counter(h for _, _, _, h in rects).most_common(1)[0][0]
    squares = [r for r in rects if r[3] == module]
    left = min(x for x, _, _, _ in squares)
    bottom = min(y for _, y, _, _ in squares)
    right = max(x + w for x, _, w, _ in squares)
    top = max(y + h for _, y, _, h in squares)
    margin = 20
    image = Image.new("L", (int((right - left) * scale) + 2 * margin, int((top - bottom) * scale) + 2 * margin), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in squares:
        x0, y0 = (x - left) * scale + margin, (top - y - h) * scale + margin
        draw.rectangle((x0, y0, x0 + w * scale - 1, y0 + h * scale - 1), fill=0)
    codes = zxingcpp.read_barcodes(image)
    assert codes, "the QR code on the page does not decode"
    return codes[0].text


def rendered_qr(data: bytes, tmp_path) -> str | None:
    """The QR code read from the page as pdftoppm renders it, where pdftoppm is installed."""
    if shutil.which("pdftoppm") is None:
        return None
    source = tmp_path / "certificate.pdf"
    source.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(source), str(tmp_path / "page")], check=True)
    [png] = sorted(tmp_path.glob("page*.png"))
    codes = zxingcpp.read_barcodes(Image.open(png))
    assert codes, "no QR code on the rendered page"
    return codes[0].text


def require_tool(name: str) -> str:
    """The path of a renderer CI installs: skipped with a reason without it, a failure where CI requires it."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("TIMEBANK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{name} is required (TIMEBANK_REQUIRE_BROWSER=1) but not installed (apt-get install poppler-utils ghostscript)")
        pytest.skip(f"{name} is not installed (apt-get install poppler-utils ghostscript)")
    return found


def fonts_listed(data: bytes, tmp_path) -> list[tuple[str, bool]]:
    """Each font pdffonts lists: its name and whether it is embedded."""
    source = tmp_path / "fonts.pdf"
    source.write_bytes(data)
    listing = subprocess.run([require_tool("pdffonts"), str(source)], check=True, capture_output=True, text=True).stdout
    rows = listing.splitlines()[2:]  # under the heading and its rule
    # name, type (one or two words), encoding, then the emb/sub/uni columns and the object id
    return [(row.split()[0], row.split()[-5] == "yes") for row in rows]


def rendered(data: bytes, tmp_path, renderer: str, dpi: int = 60, page: int = 1) -> Image.Image:
    """A page (the first unless told) as drawn by poppler (`pdftoppm`) or Ghostscript (`gs`), in grey."""
    source = tmp_path / f"{renderer}.pdf"
    source.write_bytes(data)
    target = tmp_path / f"{renderer}-page"
    if renderer == "pdftoppm":
        command = [require_tool("pdftoppm"), "-gray", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(source), str(target)]
    else:
        command = [require_tool("gs"), "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pnggray", f"-r{dpi}",
                   f"-dFirstPage={page}", f"-dLastPage={page}", "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4", f"-sOutputFile={target}.png", str(source)]
    subprocess.run(command, check=True, capture_output=True)
    with Image.open(f"{target}.png") as image:
        return image.convert("L")


def ink(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> int:
    """How many pixels of the image (or of `box` in it) are darker than mid grey."""
    part = image.crop(box) if box else image
    return sum(part.point(lambda v: 255 if v < 128 else 0).histogram()[255:])


def text_positions(data: bytes, page: int = 0) -> list[tuple[str, float, float]]:
    """Each piece of text drawn on a page with where it starts (x, y in points from the bottom left)."""
    found: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font_dict, font_size) -> None:  # noqa: ANN001
        if text.strip():
            found.append((text.strip(), tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]))

    PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return found


def where(positions: list[tuple[str, float, float]], text: str) -> tuple[float, float]:
    """Where the first piece of text holding `text` starts."""
    return next((x, y) for piece, x, y in positions if text in piece)
