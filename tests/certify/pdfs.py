"""Reading certificates back: their text (pypdf) and their QR code, drawn from the page's own vector squares."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

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
    squares = [tuple(float(v) for v in m.groups()) for m in RECT.finditer(content)]
    assert squares, "no QR code drawn on the page"
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
