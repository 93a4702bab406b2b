"""Certificates on paper: the service record certificate (志愿服务记录证明) and the professional volunteer certificate, as A4 PDFs.

Each is laid out as a document to keep or frame: a double border, the title,
the holder, what is certified, the issuer with room for the seal, and the
serial, check code and QR code that lead to the public verification page.
Each embeds a subset of the service's own Chinese font (timebank/fonts), so
any renderer draws every character; the certificates of a batch share one. The wording is the formal Chinese of the
document itself, whatever the reader's page language. No Flask here: callers
pass the verification address.
"""

from __future__ import annotations

import functools
import io
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from timebank.categories import SERVICE_CATEGORIES
from timebank.certify.models import Certificate
from timebank.certify.records import ServiceLine, ServiceRecord
from timebank.events.poster import _draw_qr
from timebank.fonts import FONT, SharedSubset, a4_canvas, register_font
from timebank.localtime import local_day

WIDTH, HEIGHT = A4
MARGIN = 20 * mm  # the text's; the border lies inside the page's edge by BORDER
BORDER = 9 * mm
# Parsed once: reportlab parses a colour string on every use.
INK, RED, SHADE, GREY = HexColor("#1f2937"), HexColor("#9b1c1c"), HexColor("#f3ede4"), HexColor("#6b7280")
LEADING = 10  # points per line of a table cell
CELL_LINES = 2  # a cell wraps to at most this many lines
BOTTOM = MARGIN + 8  # no table row below this
CLOSING = MARGIN + 88 * mm  # room the totals, the code and the seal need under the last row
#: (heading, share of the table's width) of the service lines (2021 measures, art. 7).
SERVICE_COLUMNS = (
    ("日期", 0.11), ("活动名称", 0.19), ("地点", 0.16), ("服务内容", 0.18), ("时长(小时)", 0.09), ("组织单位", 0.15), ("负责人", 0.12),
)
CORRECTED = "※"
STAR_NAMES = ("未评星", "一星级", "二星级", "三星级", "四星级", "五星级")


def hours(minutes: int) -> str:
    """Minutes as hours for print: `2`, `1.5`, `0.25`."""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


def chinese_date(day) -> str:
    """`2026年11月20日`."""
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Holder:
    """Who the certificate is about, as printed: the ID number only masked."""

    name: str
    masked_id: str
    volunteer_number: str


@functools.lru_cache(maxsize=8192)
def _fit(text: str, size: float, width: float) -> str:
    """The text cut to `width` points, with an ellipsis where it was cut."""
    if pdfmetrics.stringWidth(text, FONT, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", FONT, size) > width:
        text = text[:-1]
    return text + "…"


#: What a line never breaks inside: a run of Latin letters, digits and their marks (a date, a serial, `1.5`).
UNBROKEN = re.compile(r"[0-9A-Za-z.*:/\-]+|.")


@functools.lru_cache(maxsize=16384)
def _wrap(text: str, size: float, width: float) -> tuple[str, ...]:
    """Lines of at most `width` points, as Chinese is set: a break between any two characters, never inside a number."""
    lines, line = [], ""
    for token in UNBROKEN.findall(text):
        if line and pdfmetrics.stringWidth(line + token, FONT, size) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return tuple(lines)


@functools.lru_cache(maxsize=16384)
def _cell(text: str, size: float, width: float) -> tuple[str, ...]:
    """A cell's text in at most CELL_LINES lines of `width` points, the last cut with an ellipsis where it runs over."""
    lines = _wrap(text, size, width) or ("",)
    if len(lines) > CELL_LINES:
        lines = lines[: CELL_LINES - 1] + (_fit("".join(lines[CELL_LINES - 1:]), size, width),)
    return lines


# -- what every page has ---------------------------------------------------------------


def _frame(pdf: canvas.Canvas) -> None:
    """The double border of a formal certificate."""
    pdf.saveState()
    pdf.setStrokeColor(RED)
    pdf.setLineWidth(2.2)
    pdf.rect(BORDER, BORDER, WIDTH - 2 * BORDER, HEIGHT - 2 * BORDER)
    pdf.setLineWidth(0.6)
    pdf.rect(BORDER + 2 * mm, BORDER + 2 * mm, WIDTH - 2 * BORDER - 4 * mm, HEIGHT - 2 * BORDER - 4 * mm)
    pdf.restoreState()


def _title(pdf: canvas.Canvas, y: float, text: str, size: float) -> None:
    """The document's name, spaced out, in the certificate's red, over a short rule."""
    pdf.saveState()
    pdf.setFillColor(RED)
    pdf.setStrokeColor(RED)
    pdf.setFont(FONT, size)
    pdf.drawCentredString(WIDTH / 2, y, text, charSpace=size * 0.25)
    pdf.setLineWidth(0.8)
    pdf.line(WIDTH / 2 - 40 * mm, y - 10, WIDTH / 2 + 40 * mm, y - 10)
    pdf.restoreState()


def _footer(pdf: canvas.Canvas, certificate: Certificate, page: int, pages: int) -> None:
    pdf.setFont(FONT, 8)
    pdf.drawCentredString(WIDTH / 2, BORDER + 5 * mm, f"编号 {certificate.serial}　第 {page} 页 共 {pages} 页")
    _revoked_stamp(pdf, certificate)


def _revoked_stamp(pdf: canvas.Canvas, certificate: Certificate) -> None:
    """Across a revoked certificate's every page, so that a print of it can never pass for a valid one."""
    if certificate.revoked_at is None:
        return
    pdf.saveState()
    pdf.setFillColorRGB(0.73, 0.11, 0.11)
    pdf.translate(WIDTH / 2, HEIGHT / 2)
    pdf.rotate(30)
    pdf.setFont(FONT, 48)
    pdf.drawCentredString(0, 0, "已撤销")
    pdf.setFont(FONT, 14)
    pdf.drawCentredString(0, -24, f"{chinese_date(local_day(certificate.revoked_at))} 撤销：{certificate.revoke_reason or ''}"[:60])
    pdf.restoreState()


def _closing(pdf: canvas.Canvas, certificate: Certificate, verify_url: str, issuer: str, y: float) -> None:
    """The QR code, serial and check code on the left; the issuer, the date and the seal's place on the right.

    `y` is the top of the band, which is 50 mm high.
    """
    size = 30 * mm
    # A fixed mask spares the search for the best one (most of a code's cost); any mask scans.
    _draw_qr(pdf, verify_url, MARGIN, y - size - 4 * mm, size)
    x = MARGIN + size + 3 * mm
    pdf.setFont(FONT, 9)
    pdf.drawString(x, y - 14 * mm, f"编号：{certificate.serial}")
    pdf.drawString(x, y - 20 * mm, f"校验码：{certificate.check_code}")
    pdf.setFont(FONT, 8)
    pdf.drawString(x, y - 26 * mm, "扫码或在验证页输入编号与校验码")
    pdf.drawString(x, y - 30 * mm, "即可查验本证书真伪")
    centre = WIDTH - MARGIN - 28 * mm
    pdf.saveState()
    pdf.setStrokeColor(RED)
    pdf.setDash(3, 3)
    pdf.circle(centre, y - 22 * mm, 20 * mm, stroke=1, fill=0)
    pdf.restoreState()
    pdf.setFont(FONT, 8)
    pdf.drawCentredString(centre, y - 23 * mm, "（盖章）")
    pdf.setFont(FONT, 11)
    pdf.drawCentredString(centre, y - 46 * mm, _fit(issuer, 11, 70 * mm))
    pdf.setFont(FONT, 10)
    pdf.drawCentredString(centre, y - 52 * mm, chinese_date(local_day(certificate.issued_at)))


def _paragraph(pdf: canvas.Canvas, text: str, y: float, size: float, leading: float, indent: float = 0) -> float:
    """A paragraph across the text width, the first line indented by `indent` points; returns the y under it."""
    # The indent is set as leading ideographic spaces, so every line wraps at the same width.
    pdf.setFont(FONT, size)
    for number, line in enumerate(_wrap("\u3000" * round(indent / size) + text, size, WIDTH - 2 * MARGIN)):
        pdf.drawString(MARGIN, y - number * leading, line)
        last = y - number * leading
    return last - leading


def _holder_block(pdf: canvas.Canvas, holder: Holder, y: float) -> float:
    """Name, masked ID number and volunteer number in a shaded three-cell row; returns the y under it."""
    cells = (("姓名", holder.name), ("证件号码", holder.masked_id or "—"), ("志愿者编号", holder.volunteer_number))
    width, height = (WIDTH - 2 * MARGIN) / 3, 32
    pdf.saveState()
    pdf.setFillColor(SHADE)
    pdf.setStrokeColor(INK)
    pdf.setLineWidth(0.5)
    for index, (label, value) in enumerate(cells):
        x = MARGIN + index * width
        pdf.rect(x, y - height, width, height, stroke=1, fill=1)
        pdf.setFillColor(INK)
        pdf.setFont(FONT, 8)
        pdf.drawString(x + 5, y - 11, label)
        pdf.setFont(FONT, 12)
        pdf.drawString(x + 5, y - height + 7, _fit(value, 12, width - 10))
        pdf.setFillColor(SHADE)
    pdf.restoreState()
    return y - height - 18


# -- the service record certificate ---------------------------------------------------


def _service_cells(line: ServiceLine) -> list[str]:
    figure = hours(line.minutes) + (CORRECTED if line.corrected else "")
    return [line.date.isoformat(), line.activity, line.place, line.content, figure, line.organising_unit, line.person_in_charge]


@functools.lru_cache(maxsize=16)
def _column_edges(columns) -> tuple[float, ...]:
    """The x of each column's left edge, and the table's right edge last."""
    edges, x = [MARGIN], MARGIN
    for _, share in columns:
        x += (WIDTH - 2 * MARGIN) * share
        edges.append(x)
    return tuple(edges)


def _row_lines(cells: list[str], columns, size: float) -> list[tuple[str, ...]]:
    edges = _column_edges(columns)
    return [_cell(text, size, edges[i + 1] - edges[i] - 4) for i, text in enumerate(cells)]


def _row(pdf: canvas.Canvas, top: float, cells: list[tuple[str, ...]], columns, size: float = 8) -> None:
    """One table row: its text drawn once per document at the origin, moved into place by the row's own matrix.

    A batch's certificates repeat the same activities, places and people in
    charge, so a row's text operators (reportlab's text object costs more than
    the row's drawing) are built once per document and reused.
    """
    rows = _ROWS.setdefault(pdf._doc, {})
    key = (tuple(cells), columns, size)
    body = rows.get(key)
    if body is None:
        body = rows[key] = _row_text(pdf, cells, columns, size)
    pdf._code.append(f"q 1 0 0 1 0 {fp_str(top - 3 - size)} cm {body} Q")


#: Each document's rows of text already drawn: text operators by (cells, columns, size).
_ROWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _row_text(pdf: canvas.Canvas, cells: list[tuple[str, ...]], columns, size: float) -> str:
    """A row's text operators with its first line's baseline at y = 0, in the document's font subsets."""
    edges = _column_edges(columns)
    font, doc = pdfmetrics.getFont(FONT), pdf._doc
    code, current = ["BT"], None
    for x, lines in zip(edges, cells):
        for number, line in enumerate(lines):
            code.append(f"1 0 0 1 {fp_str(x + 2)} {fp_str(-number * LEADING)} Tm")
            for subset, encoded in font.splitString(line, doc):
                if subset != current:
                    code.append(f"{font.getSubsetInternalName(subset, doc)} {fp_str(size)} Tf")
                    current = subset
                code.append(f"({pdf._escape(encoded)}) Tj")
    code.append("ET")
    return " ".join(code)


def _row_height(cells: list[tuple[str, ...]]) -> float:
    return 6 + LEADING * max(len(lines) for lines in cells)


def _plan(record: ServiceRecord, top: float) -> list[list[tuple[str, object, float, float]]]:
    """Where each heading and table row goes: pages of (kind, content, top, height); a row that does not fit starts a page.

    The last page keeps room for the totals, the code and the seal.
    """
    header = [(h,) for h, _ in SERVICE_COLUMNS]
    items: list[tuple[str, object]] = []
    for title, lines in (("一、志愿服务", record.service), ("二、培训", record.training)):
        if lines:
            items += [("heading", title), ("columns", header)] + [("row", _row_lines(_service_cells(line), SERVICE_COLUMNS, 8)) for line in lines]
    pages: list[list[tuple[str, object, float, float]]] = [[]]
    continued = HEIGHT - MARGIN - 6
    y = top
    for kind, content in items:
        height = 26 if kind == "heading" else _row_height(content)  # type: ignore[arg-type]
        if y - height < BOTTOM:
            pages.append([("continued", None, continued, 20), ("columns", header, continued - 20, _row_height(header))])
            y = continued - 20 - _row_height(header)
        pages[-1].append((kind, content, y, height))
        y -= height
    if y < CLOSING:
        pages.append([])
    return pages


def _table_rules(pdf: canvas.Canvas, rows: list[tuple[float, float]]) -> None:
    """The grid under a run of rows, given each row's (top, height): one path for the page."""
    edges = _column_edges(SERVICE_COLUMNS)
    path = pdf.beginPath()
    for top, height in rows:
        path.rect(edges[0], top - height, edges[-1] - edges[0], height)
        for x in edges[1:-1]:
            path.moveTo(x, top)
            path.lineTo(x, top - height)
    pdf.setLineWidth(0.4)
    pdf.drawPath(path, stroke=1, fill=0)


def draw_service_record(pdf: canvas.Canvas, record: ServiceRecord, holder: Holder, certificate: Certificate, organisation: str, verify_url: str) -> None:
    """The service record certificate, on as many pages as its lines need."""
    register_font()
    _frame(pdf)
    y = HEIGHT - MARGIN - 16
    _title(pdf, y, "志愿服务记录证明", 22)
    y = _holder_block(pdf, holder, y - 30)
    period = f"{chinese_date(record.start)}至{chinese_date(record.end)}"
    statement = f"兹证明 {holder.name} 于{period}期间参加志愿服务，经本组织记录、审核，服务记录如下。"
    if record.empty:
        statement = f"经查，{holder.name} 于{period}期间在本组织无志愿服务记录。"
    y = _paragraph(pdf, statement, y, 10.5, 16, indent=21)
    pages = _plan(record, y - 4)
    for number, page in enumerate(pages, start=1):
        if number > 1:
            _footer(pdf, certificate, number - 1, len(pages))
            pdf.showPage()
            _frame(pdf)
        ruled = []
        for kind, content, top, height in page:
            if kind == "heading":
                pdf.setFont(FONT, 11)
                pdf.drawString(MARGIN, top - 19, str(content))
            elif kind == "continued":
                pdf.setFont(FONT, 10)
                pdf.drawString(MARGIN, top - 12, f"志愿服务记录证明（续）　{holder.name}　{certificate.serial}")
            else:
                if kind == "columns":
                    pdf.saveState()
                    pdf.setFillColor(SHADE)
                    pdf.rect(MARGIN, top - height, WIDTH - 2 * MARGIN, height, stroke=0, fill=1)
                    pdf.restoreState()
                _row(pdf, top, content, SERVICE_COLUMNS)  # type: ignore[arg-type]
                ruled.append((top, height))
            y = top - height
        if ruled:
            _table_rules(pdf, ruled)
        y = (y - 12) if page else HEIGHT - MARGIN - 10
    if any(line.corrected for line in record.service + record.training):
        pdf.setFont(FONT, 8)
        pdf.drawString(MARGIN, y, f"{CORRECTED} 该行经更正：原记录已冲正，所列为更正后的时长。")
        y -= 16
    y -= 6
    totals = "；".join(f"{SERVICE_CATEGORIES.get(c, c)} {hours(m)} 小时" for c, m in sorted(record.by_category.items()))
    pdf.setFont(FONT, 10)
    for text in (
        f"服务时长合计：{hours(record.service_minutes)} 小时" + (f"（{totals}）" if totals else ""),
        f"培训时长合计：{hours(record.training_minutes)} 小时",
        f"星级：{STAR_NAMES[min(record.star_level, 5)]}志愿者" if record.star_level else "星级：尚未评星",
        f"记录单位：{organisation}",
    ):
        pdf.drawString(MARGIN, y, _fit(text, 10, WIDTH - 2 * MARGIN))
        y -= 15
    pdf.setFont(FONT, 8)
    pdf.drawString(MARGIN, y, "本证明依据《志愿服务记录与证明出具办法（试行）》出具，免费提供；全国志愿服务信息系统为法定记录。")
    _closing(pdf, certificate, verify_url, organisation, min(y - 8, MARGIN + 64 * mm))
    _footer(pdf, certificate, len(pages), len(pages))
    pdf.showPage()


# -- the professional volunteer certificate -------------------------------------------


def certified_statement(certificate: Certificate, name: str) -> str:
    """What the professional certificate states, in one sentence."""
    programme = certificate.programme.name if certificate.programme else ""
    basis = "、".join(f"{SERVICE_CATEGORIES.get(c, c)} {hours(m)} 小时" for c, m in sorted(certificate.basis.items()))
    served = f"，参加志愿服务活动 {certificate.activities} 次" if certificate.activities else ""
    return (
        f"兹证明 {name} 在专业社会工作者督导下参加志愿服务，累计认证服务时长 {hours(certificate.certified_minutes)} 小时"
        f"（{basis}），完成培训 {hours(certificate.training_minutes)} 小时{served}，"
        f"达到“{programme}”的各项认证要求，特发此证。"
    )


def draw_programme_certificate(pdf: canvas.Canvas, certificate: Certificate, holder: Holder, signer: str, verify_url: str) -> None:
    """A professional volunteer certificate on one framed page: who, which programme, the hours it rests on, validity, signer."""
    register_font()
    _frame(pdf)
    y = HEIGHT - MARGIN - 40
    _title(pdf, y, "专业志愿者证书", 30)
    y -= 44
    pdf.setFont(FONT, 16)
    pdf.drawCentredString(WIDTH / 2, y, _fit(certificate.programme.name if certificate.programme else "", 16, WIDTH - 2 * MARGIN))
    y -= 56
    pdf.setFont(FONT, 10)
    pdf.drawCentredString(WIDTH / 2, y + 30, "持证人")
    pdf.setFont(FONT, 26)
    pdf.drawCentredString(WIDTH / 2, y, _fit(holder.name, 26, WIDTH - 2 * MARGIN))
    y -= 20
    pdf.setFont(FONT, 10)
    pdf.drawCentredString(WIDTH / 2, y, f"证件号码：{holder.masked_id or '—'}　　志愿者编号：{holder.volunteer_number}")
    y = _paragraph(pdf, certified_statement(certificate, holder.name), y - 40, 13, 24, indent=26)
    y -= 16
    details = (
        ("督导社工", signer),
        ("发证单位", certificate.organisation.name),
        ("发证日期", chinese_date(local_day(certificate.issued_at))),
        ("有效期至", chinese_date(certificate.valid_until) if certificate.valid_until else "长期有效"),
        ("证书编号", certificate.serial),
    )
    for label, value in details:
        pdf.setFont(FONT, 10)
        pdf.setFillColor(GREY)
        pdf.drawString(MARGIN + 20 * mm, y, label)
        pdf.setFillColor(INK)
        pdf.setFont(FONT, 12)
        pdf.drawString(MARGIN + 42 * mm, y, _fit(value, 12, WIDTH - 2 * MARGIN - 42 * mm))
        y -= 22
    _closing(pdf, certificate, verify_url, certificate.organisation.name, MARGIN + 64 * mm)
    _revoked_stamp(pdf, certificate)
    pdf.showPage()


def single_pdf(draw, *args, subset: SharedSubset | None = None) -> bytes:
    """One document drawn by `draw(canvas, *args)`, as bytes; with a `subset`, in its codes and without the font's glyphs."""
    return chunk_pdf(draw, [args], subset=subset)


def chunk_pdf(draw, arguments: Sequence[Sequence[object]], *, subset: SharedSubset | None) -> bytes:
    """Several documents drawn one after the other on one canvas, `draw(canvas, *args)` each; with a `subset`, in its codes."""
    buffer = io.BytesIO()
    pdf = a4_canvas(buffer)
    if subset is not None:
        subset.attach(pdf)
    pdf.setTitle("志愿服务记录证明")
    for args in arguments:
        draw(pdf, *args)
    pdf.save()
    return buffer.getvalue()
