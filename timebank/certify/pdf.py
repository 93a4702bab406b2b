"""Certificates on paper: the service record certificate (志愿服务记录证明) and the professional volunteer certificate, as A4 PDFs.

Each embeds a subset of the service's own Chinese font (timebank/fonts), so any
renderer draws every character.
The wording is the formal Chinese of the document itself, whatever the
reader's page language. No Flask here: callers pass the verification address.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from timebank.categories import SERVICE_CATEGORIES
from timebank.certify.models import Certificate
from timebank.certify.records import ServiceLine, ServiceRecord
from timebank.events.poster import _draw_qr
from timebank.fonts import FONT, a4_canvas, register_font
from timebank.localtime import local_day

WIDTH, HEIGHT = A4
MARGIN = 18 * mm
ROW = 15  # points per table row
BOTTOM = MARGIN + 12  # no table row below this
CLOSING = MARGIN + 75 * mm  # room the totals, the code and the seal need under the last row
#: (heading, share of the table's width) of the service lines.
SERVICE_COLUMNS = (("日期", 0.12), ("活动名称", 0.22), ("地点", 0.18), ("服务内容", 0.2), ("时长(小时)", 0.1), ("组织单位", 0.18))
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


def _row(pdf: canvas.Canvas, y: float, cells: list[str], columns, size: float = 9) -> None:
    """One table row as one text object (a text object per cell costs more than drawing the row)."""
    x, table = MARGIN, WIDTH - 2 * MARGIN
    text_object = pdf.beginText()
    text_object.setFont(FONT, size)
    for text, (_, share) in zip(cells, columns):
        text_object.setTextOrigin(x + 2, y)
        text_object.textOut(_fit(text, size, table * share - 4))
        x += table * share
    pdf.drawText(text_object)


def _service_cells(line: ServiceLine) -> list[str]:
    return [line.date.isoformat(), line.activity, line.place, line.content, hours(line.minutes), line.organising_unit]


def _footer(pdf: canvas.Canvas, certificate: Certificate, page: int, pages: int) -> None:
    pdf.setFont(FONT, 8)
    pdf.drawCentredString(WIDTH / 2, 10 * mm, f"编号 {certificate.serial}　第 {page} 页 共 {pages} 页")
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


def _verification(pdf: canvas.Canvas, certificate: Certificate, verify_url: str, y: float) -> None:
    """The QR code to the verification page, the check code for typing it in, and the space for the seal."""
    size = 30 * mm
    # A fixed mask spares the search for the best one (most of a code's cost); any mask scans.
    _draw_qr(pdf, verify_url, MARGIN, y - size, size, mask_pattern=2)
    pdf.setFont(FONT, 8)
    pdf.drawString(MARGIN + size + 3 * mm, y - 10 * mm, "扫码验证本证明真伪")
    pdf.drawString(MARGIN + size + 3 * mm, y - 15 * mm, f"编号：{certificate.serial}")
    pdf.drawString(MARGIN + size + 3 * mm, y - 20 * mm, f"校验码：{certificate.check_code}")
    seal_x = WIDTH - MARGIN - 45 * mm
    pdf.setDash(3, 3)
    pdf.circle(seal_x + 22 * mm, y - 17 * mm, 19 * mm, stroke=1, fill=0)
    pdf.setDash()
    pdf.drawCentredString(seal_x + 22 * mm, y - 18 * mm, "（盖章）")


def _plan(record: ServiceRecord, top: float) -> list[list[tuple[str, object, float]]]:
    """Where each heading and table row goes: pages of (kind, content, y); a row that does not fit starts a page.

    The last page keeps room for the totals, the code and the seal.
    """
    items: list[tuple[str, object]] = []
    for title, lines in (("一、志愿服务", record.service), ("二、培训", record.training)):
        if lines:
            items += [("heading", title), ("columns", None)] + [("row", _service_cells(line)) for line in lines]
    pages: list[list[tuple[str, object, float]]] = [[]]
    y = top
    for kind, content in items:
        if y < BOTTOM:
            pages.append([("continued", None, HEIGHT - MARGIN - 10), ("columns", None, HEIGHT - MARGIN - 10 - ROW)])
            y = HEIGHT - MARGIN - 10 - 2 * ROW
        pages[-1].append((kind, content, y))
        y -= ROW + (4 if kind == "heading" else 0)
    if y < CLOSING:
        pages.append([])
    return pages


def draw_service_record(pdf: canvas.Canvas, record: ServiceRecord, holder: Holder, certificate: Certificate, organisation: str, verify_url: str) -> None:
    """The service record certificate, on as many pages as its lines need."""
    register_font()
    y = HEIGHT - MARGIN - 10
    pdf.setFont(FONT, 20)
    pdf.drawCentredString(WIDTH / 2, y, "志愿服务记录证明")
    y -= 26
    pdf.setFont(FONT, 10)
    pdf.drawString(MARGIN, y, f"姓名：{holder.name}")
    pdf.drawString(MARGIN + 55 * mm, y, f"证件号码：{holder.masked_id or '—'}")
    pdf.drawString(MARGIN + 125 * mm, y, f"志愿者编号：{holder.volunteer_number}")
    y -= 18
    period = f"{chinese_date(record.start)}至{chinese_date(record.end)}"
    statement = f"兹证明 {holder.name} 于{period}期间参加志愿服务，经本组织记录、审核如下。"
    if record.empty:
        statement = f"经查，{holder.name} 于{period}期间在本组织无志愿服务记录。"
    pdf.drawString(MARGIN, y, _fit(statement, 10, WIDTH - 2 * MARGIN))
    pages = _plan(record, y - 24)
    y -= 24
    for number, page in enumerate(pages, start=1):
        if number > 1:
            _footer(pdf, certificate, number - 1, len(pages))
            pdf.showPage()
            y = HEIGHT - MARGIN - 10
        for kind, content, y in page:
            if kind == "heading":
                pdf.setFont(FONT, 11)
                pdf.drawString(MARGIN, y, str(content))
            elif kind == "continued":
                pdf.setFont(FONT, 10)
                pdf.drawString(MARGIN, y, f"志愿服务记录证明（续）　{holder.name}　{certificate.serial}")
            elif kind == "columns":
                _row(pdf, y, [h for h, _ in SERVICE_COLUMNS], SERVICE_COLUMNS)
                pdf.line(MARGIN, y - 4, WIDTH - MARGIN, y - 4)
            else:
                _row(pdf, y, content, SERVICE_COLUMNS)
        y = (y - ROW - 6) if page else y
    page = len(pages)
    pdf.setFont(FONT, 10)
    totals = "；".join(f"{SERVICE_CATEGORIES.get(c, c)} {hours(m)} 小时" for c, m in sorted(record.by_category.items()))
    for text in (
        f"服务时长合计：{hours(record.service_minutes)} 小时" + (f"（{totals}）" if totals else ""),
        f"培训时长合计：{hours(record.training_minutes)} 小时",
        f"星级：{STAR_NAMES[min(record.star_level, 5)]}志愿者" if record.star_level else "星级：尚未评星",
        f"记录单位：{organisation}",
        f"出具日期：{chinese_date(local_day(certificate.issued_at))}",
    ):
        pdf.drawString(MARGIN, y, _fit(text, 10, WIDTH - 2 * MARGIN))
        y -= ROW
    pdf.setFont(FONT, 8)
    pdf.drawString(MARGIN, y, "本证明依据《志愿服务记录与证明出具办法（试行）》出具，免费提供；全国志愿服务信息系统为法定记录。")
    _verification(pdf, certificate, verify_url, min(y - 6, 62 * mm))
    _footer(pdf, certificate, page, page)
    pdf.showPage()


def draw_programme_certificate(pdf: canvas.Canvas, certificate: Certificate, holder: Holder, signer: str, verify_url: str) -> None:
    """A professional volunteer certificate: who, which programme, the hours it rests on, validity, signer."""
    register_font()
    programme = certificate.programme
    y = HEIGHT - MARGIN - 30
    pdf.setFont(FONT, 26)
    pdf.drawCentredString(WIDTH / 2, y, "专业志愿者证书")
    y -= 40
    pdf.setFont(FONT, 16)
    pdf.drawCentredString(WIDTH / 2, y, programme.name if programme else "")
    y -= 40
    pdf.setFont(FONT, 11)
    basis = "；".join(f"{SERVICE_CATEGORIES.get(c, c)} {hours(m)} 小时" for c, m in sorted(certificate.basis.items()))
    for text in (
        f"持证人：{holder.name}　　证件号码：{holder.masked_id or '—'}　　志愿者编号：{holder.volunteer_number}",
        f"认证服务时长：{hours(certificate.certified_minutes)} 小时（{basis}）",
        f"培训时长：{hours(certificate.training_minutes)} 小时　　参加活动：{certificate.activities} 次",
        f"督导社工：{signer}",
        f"发证单位：{certificate.organisation.name}",
        f"发证日期：{chinese_date(local_day(certificate.issued_at))}　　有效期至：{chinese_date(certificate.valid_until) if certificate.valid_until else '长期'}",
        f"证书编号：{certificate.serial}",
    ):
        pdf.drawString(MARGIN, y, _fit(text, 11, WIDTH - 2 * MARGIN))
        y -= 22
    _verification(pdf, certificate, verify_url, y - 10)
    _revoked_stamp(pdf, certificate)
    pdf.showPage()


def single_pdf(draw, *args) -> bytes:
    """One document drawn by `draw(canvas, *args)`, as bytes."""
    buffer = io.BytesIO()
    pdf = a4_canvas(buffer)
    pdf.setTitle("志愿服务记录证明")
    draw(pdf, *args)
    pdf.save()
    return buffer.getvalue()
