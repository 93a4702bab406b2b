"""An activity's codes drawn: an SVG for the venue screen, an A4 poster (PDF), and the poster's codes as a PNG.

No Flask here: the view passes the addresses and the words, already in the reader's language.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html import escape

import qrcode
import qrcode.constants
import qrcode.image.svg
import zxingcpp
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from timebank.fonts import FONT, a4_canvas, register_font

#: Check-in green and check-out orange, the same on screen, paper and image.
IN_COLOUR, OUT_COLOUR = "#047857", "#c2410c"


@dataclass(frozen=True)
class PosterText:
    """What the poster says, already translated."""

    title: str
    organisation: str
    place: str
    time: str
    check_in: str  # the label over the check-in code (签到)
    check_out: str  # the label over the check-out code (签退)
    instruction: str  # 用手机扫码签到/签退


def _qr(data: str, **options: int) -> qrcode.QRCode:
    # M recovers 15 %: enough for a smudged print or a glare on the screen, still a small code.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, **options)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_svg(data: str, label: str) -> str:
    """`data` as an inline SVG QR code on white, sized by the page's CSS."""
    svg = _qr(data, border=4).make_image(image_factory=qrcode.image.svg.SvgPathFillImage).to_string(encoding="unicode")
    # The library sizes the code in millimetres and names its path; two codes share the screen, scaled by CSS.
    svg = re.sub(r'^<svg width="[^"]*" height="[^"]*"', f'<svg class="qr" role="img" aria-label="{escape(label)}"', svg)
    return svg.replace(' id="qr-path"', "")


def _wrap(text: str, size: float, width: float) -> list[str]:
    """Lines of at most `width` points; Chinese breaks anywhere, other text at a space where it can."""
    lines: list[str] = []
    line = ""
    for char in text:
        if pdfmetrics.stringWidth(line + char, FONT, size) <= width:
            line += char
            continue
        head, space, tail = line.rpartition(" ")
        if space and head and char != " ":
            lines.append(head)
            line = tail + char
        else:
            lines.append(line.rstrip())
            line = char.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines


#: An image's black (0) as a dark module (1), anything lighter as a light one (0).
DARK_AS_ONE = bytes([1] + [0] * 255)


def qr_modules(data: str, border: int = 4) -> list[bytes]:
    """The code's rows of modules (1 dark, 0 light), `border` light modules around, error correction M.

    Encoded by ZXing's compiled encoder: printing a batch of certificates
    draws one code each, and the pure-Python encoder took a quarter of a
    certificate's time (about 10 ms against 0.3 ms).
    """
    image = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    modules = bytes(memoryview(image)).translate(DARK_AS_ONE)
    edge, light = bytes(border), bytes(width + 2 * border)
    return [light] * border + [edge + modules[r * width:(r + 1) * width] + edge for r in range(height)] + [light] * border


#: A run of dark modules in a row of `qr_modules`.
DARK_RUN = re.compile(rb"\x01+")


def _draw_qr(pdf: canvas.Canvas, data: str, x: float, y: float, size: float) -> None:
    """The code as vector squares (sharp at any print size), its quiet zone included in `size`.

    Drawn in module units (one rectangle per run of dark modules, whole
    numbers), scaled to `size` by the page's transformation: one short string
    of path operators instead of thousands of formatted coordinates.
    """
    matrix = qr_modules(data)
    runs = " ".join(f"{run.start()} {row} {run.end() - run.start()} 1 re" for row, cells in enumerate(matrix) for run in DARK_RUN.finditer(cells))
    module = size / len(matrix)
    pdf.saveState()
    pdf.translate(x, y + size)
    pdf.scale(module, -module)
    pdf.setFillColor("#000000")
    pdf.addLiteral(runs + " f")
    pdf.restoreState()


def poster_pdf(text: PosterText, check_in_url: str, check_out_url: str) -> bytes:
    """One A4 page: the activity, where and when, and the check-in and check-out codes side by side."""
    font = register_font()
    buffer = io.BytesIO()
    pdf = a4_canvas(buffer)
    pdf.setTitle(text.title)
    pdf.setAuthor(text.organisation)
    width, height = A4
    margin = 18 * mm
    centre = width / 2
    y = height - margin
    pdf.setFillColor("#000000")
    for line in _wrap(text.title, 30, width - 2 * margin)[:3]:
        y -= 38
        pdf.setFont(font, 30)
        pdf.drawCentredString(centre, y, line)
    y -= 10
    pdf.setFont(font, 16)
    for detail in (text.organisation, text.place, text.time):
        for line in _wrap(detail, 16, width - 2 * margin)[:2]:
            y -= 24
            pdf.drawCentredString(centre, y, line)
    gap = 12 * mm
    size = (width - 2 * margin - gap) / 2
    label_y = y - 26 * mm
    for index, (label, url, colour) in enumerate(
        ((text.check_in, check_in_url, IN_COLOUR), (text.check_out, check_out_url, OUT_COLOUR))
    ):
        x = margin + index * (size + gap)
        pdf.setFillColor(colour)
        pdf.roundRect(x, label_y - 6 * mm, size, 20 * mm, 4 * mm, stroke=0, fill=1)
        pdf.setFillColor("#ffffff")
        pdf.setFont(font, 40)
        pdf.drawCentredString(x + size / 2, label_y, label)
        _draw_qr(pdf, url, x, label_y - 8 * mm - size, size)
    pdf.setFillColor("#000000")
    y = label_y - 8 * mm - size - 14 * mm
    for line in _wrap(text.instruction, 24, width - 2 * margin):
        pdf.setFont(font, 24)
        pdf.drawCentredString(centre, y, line)
        y -= 32
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _pictogram(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], entering: bool) -> None:
    """A doorway with an arrow going in (check-in) or coming out (check-out), in white."""
    left, top, right, bottom = box
    height = bottom - top
    door_w, door_h = height * 0.55, height * 0.8
    door_left = right - door_w - height * 0.4 if entering else left + height * 0.4
    door_top = top + (height - door_h) / 2
    line = max(3, int(height * 0.08))
    draw.rectangle((door_left, door_top, door_left + door_w, door_top + door_h), outline="white", width=line)
    mid = top + height / 2
    head = height * 0.22
    if entering:  # from the left edge into the doorway
        start, tip = left + height * 0.4, door_left + door_w * 0.6
    else:  # from inside the doorway out to the right edge
        start, tip = door_left + door_w * 0.4, right - height * 0.4
    draw.line((start, mid, tip - head * 0.5, mid), fill="white", width=line * 2)
    draw.polygon(((tip, mid), (tip - head, mid - head * 0.8), (tip - head, mid + head * 0.8)), fill="white")


def poster_png(check_in_url: str, check_out_url: str, *, box_size: int = 10) -> bytes:
    """The poster's two codes side by side, check-in (green, left) and check-out (orange, right).

    Pillow has no Chinese font, so instead of 签到/签退 each code sits under a
    coloured band with a pictogram: an arrow going into a doorway, or coming out.
    """
    codes = [_qr(url, box_size=box_size, border=4).make_image().get_image().convert("RGB") for url in (check_in_url, check_out_url)]
    side = max(code.width for code in codes)
    band = side // 4
    gap = side // 8
    image = Image.new("RGB", (2 * side + gap, band + side), "white")
    draw = ImageDraw.Draw(image)
    for index, (code, colour) in enumerate(zip(codes, (IN_COLOUR, OUT_COLOUR))):
        left = index * (side + gap)
        draw.rectangle((left, 0, left + side - 1, band - 1), fill=colour)
        _pictogram(draw, (left, 0, left + side, band), entering=index == 0)
        image.paste(code, (left + (side - code.width) // 2, band))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
