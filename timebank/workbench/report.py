"""The monthly report a coordinator sends to the street or district office: PDF and XLSX of the same tables.

Printed documents are in Chinese, as the certificates are: they go to offices,
not to a reader's chosen language. No Flask here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from dataclasses import dataclass
from urllib.parse import quote

from openpyxl import Workbook
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from timebank.categories import SERVICE_CATEGORIES
from timebank.certify.pdf import chinese_date, hours
from timebank.fonts import FONT, a4_canvas
from timebank.localtime import moment_text
from timebank.spreadsheets import append_rows
from timebank.workbench import programme as figures

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLOURS_ZH = {"red": "红色（紧急）", "yellow": "黄色（重点）", "blue": "蓝色（常规）", "green": "绿色（已办结）"}
GRADES_ZH = {"green": "绿色", "blue": "蓝色", "yellow": "黄色", "red": "红色"}
STATES_ZH = {"recorded": "待分派", "ordered": "已派单", "in_activity": "纳入活动", "referred": "已转介", "declined": "已婉拒",
             "served": "已服务", "closed": "已办结", "cancelled": "已取消"}
CERTIFICATES_ZH = {"service_record": "志愿服务记录证明", "programme": "专业志愿者证书"}
MARGIN = 18 * mm
ROW = 6.5 * mm


@dataclass(frozen=True)
class Table:
    """A titled table of the report."""

    title: str
    headings: tuple[str, ...]
    rows: list[tuple[object, ...]]


@dataclass(frozen=True)
class MonthlyReport:
    """The month's figures and the year's trend, as tables."""

    title: str
    subtitle: str
    made: str
    tables: list[Table]


def _month_scope(scope: figures.Scope) -> figures.Scope:
    """The twelve months up to the report's month, for the trend table."""
    return dataclasses.replace(scope, start=figures.default_start(scope.end))


def monthly(session: Session, scope: figures.Scope, *, now: dt.datetime) -> MonthlyReport:
    """The report of the scope's month: headline figures, hours by category, needs, grades, redemptions, the year's trend."""
    month = figures.programme(session, scope)
    year = figures.programme(session, _month_scope(scope))
    where = scope.organisation.name if scope.organisation else "管辖范围内全部组织"
    redeemed = sum(c for c, _ in month.redemptions_by_month.values()), sum(p for _, p in month.redemptions_by_month.values())
    headline = Table("一、本月概况", ("项目", "数值"), [
        ("审核通过的服务时长（小时）", hours(month.total_minutes)),
        ("参与服务的志愿者（人）", month.active_volunteers),
        ("新注册志愿者（人）", month.new_volunteers),
        ("在册志愿者（人）", month.registered_volunteers),
        ("新登记需求（件）", month.needs_total),
        ("兑换（笔）", redeemed[0]),
        ("兑换积分", redeemed[1]),
        ("未兑换积分（积分负债）", month.points_outstanding),
        *((f"颁发{CERTIFICATES_ZH.get(kind, kind)}（份）", count) for kind, count in month.certificates.items()),
    ])
    categories = Table("二、分类服务时长（小时）", ("服务类别", "时长"), [
        (SERVICE_CATEGORIES.get(c, c), hours(sum(row.get(c, 0) for row in month.hours_by_month.values()))) for c in month.categories
    ] or [("—", "0")])
    needs = Table("三、需求（按颜色与状态）", ("颜色", *(STATES_ZH[s] for s in figures.NEED_STATES), "合计"), [
        (COLOURS_ZH[c], *(month.needs.get(c, {}).get(s, 0) for s in figures.NEED_STATES), sum(month.needs.get(c, {}).values()))
        for c in figures.COLOURS
    ])
    response = Table("四、需求响应时间（登记至分派，小时）", ("颜色", "已分派（件）", "中位数", "90%分位"), [
        (COLOURS_ZH[r.colour], r.triaged, _hours_or_dash(r.median_hours), _hours_or_dash(r.p90_hours)) for r in month.response_times
    ])
    grades = Table("五、志愿者四色分级（当前）", ("等级", "人数"), [(GRADES_ZH[c], month.grades.get(c, 0)) for c in figures.GRADE_COLOURS])
    trend = Table("六、近十二个月趋势", ("月份", "服务时长（小时）", "新注册志愿者（人）", "兑换（笔）", "兑换积分"), [
        (m, hours(sum(year.hours_by_month.get(m, {}).values())), year.new_by_month.get(m, 0), *year.redemptions_by_month.get(m, (0, 0)))
        for m in year.months
    ])
    start = scope.start
    return MonthlyReport(
        title=f"{where} 志愿服务月报",
        subtitle=f"{start.year}年{start.month}月（{chinese_date(scope.start)}至{chinese_date(scope.end)}）",
        made=f"制表时间：{moment_text(now, now)}",
        tables=[headline, categories, needs, response, grades, trend],
    )


def _hours_or_dash(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def download_headers(scope: figures.Scope, month: str, extension: str) -> dict[str, str]:
    """The attachment's file name, in Chinese for the office and ASCII for old browsers."""
    name = f"志愿服务月报-{scope.organisation.name if scope.organisation else '全部'}-{month}.{extension}"
    return {"Content-Disposition": f"attachment; filename=\"timebank-report-{month}.{extension}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store"}


# -- PDF -----------------------------------------------------------------------------------------


def _draw_table(pdf: canvas.Canvas, table: Table, y: float, page: list[int], report: MonthlyReport) -> float:
    """The table from `y` down, starting a new page when the next row would not fit."""
    width = A4[0] - 2 * MARGIN
    first = min(0.34, 1.6 / (len(table.headings) + 0.6)) * width
    rest = (width - first) / max(len(table.headings) - 1, 1)
    edges = [MARGIN] + [MARGIN + first + i * rest for i in range(len(table.headings))]
    size = 9 if len(table.headings) <= 6 else 7.5

    def row(cells: tuple[object, ...], top: float, bold: bool = False) -> None:
        pdf.setFont(FONT, size)
        if bold:
            pdf.setFillGray(0.93)
            pdf.rect(MARGIN, top - ROW, width, ROW, stroke=0, fill=1)
            pdf.setFillGray(0)
        for i, cell in enumerate(cells):
            text = str(cell)
            if i == 0:
                pdf.drawString(edges[0] + 2, top - ROW + 2 * mm, text)
            else:
                pdf.drawRightString(edges[i + 1] - 2, top - ROW + 2 * mm, text)
        pdf.setLineWidth(0.3)
        pdf.line(MARGIN, top - ROW, MARGIN + width, top - ROW)

    if y - 3 * ROW < MARGIN + 10 * mm:
        y = _new_page(pdf, page, report)
    pdf.setFont(FONT, 11)
    pdf.drawString(MARGIN, y - 5 * mm, table.title)
    y -= 8 * mm
    row(table.headings, y, bold=True)
    y -= ROW
    for cells in table.rows:
        if y - ROW < MARGIN + 10 * mm:
            y = _new_page(pdf, page, report)
            row(table.headings, y, bold=True)
            y -= ROW
        row(cells, y)
        y -= ROW
    return y - 4 * mm


def _footer(pdf: canvas.Canvas, report: MonthlyReport, number: int) -> None:
    pdf.setFont(FONT, 8)
    pdf.drawString(MARGIN, MARGIN - 6 * mm, report.made)
    pdf.drawRightString(A4[0] - MARGIN, MARGIN - 6 * mm, f"第 {number} 页")


def _new_page(pdf: canvas.Canvas, page: list[int], report: MonthlyReport) -> float:
    _footer(pdf, report, page[0])
    pdf.showPage()
    page[0] += 1
    return A4[1] - MARGIN


def monthly_pdf(report: MonthlyReport) -> bytes:
    """The report on A4 pages, text in the embedded Chinese font (searchable and copyable)."""
    buffer = io.BytesIO()
    pdf = a4_canvas(buffer)
    pdf.setTitle(report.title)
    y = A4[1] - MARGIN
    pdf.setFont(FONT, 16)
    pdf.drawCentredString(A4[0] / 2, y - 8 * mm, report.title)
    pdf.setFont(FONT, 10)
    pdf.drawCentredString(A4[0] / 2, y - 15 * mm, report.subtitle)
    y -= 22 * mm
    page = [1]
    for table in report.tables:
        y = _draw_table(pdf, table, y, page, report)
    _footer(pdf, report, page[0])
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# -- XLSX ----------------------------------------------------------------------------------------


def monthly_xlsx(report: MonthlyReport) -> bytes:
    """The report as a workbook: a sheet per table, the title above each."""
    book = Workbook(write_only=True)
    for number, table in enumerate(report.tables, start=1):
        sheet = book.create_sheet(title=table.title.split("、", 1)[-1][:28] or f"表{number}")
        append_rows(sheet, [(report.title,), (report.subtitle,), (table.title,), table.headings, *table.rows, (), (report.made,)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
