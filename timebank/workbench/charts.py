"""Charts drawn on the server as SVG: read at a glance on a phone, printed on A4, no script anywhere.

Each chart is small in its own units (360 wide, the width of a phone's
column), so its 12-unit text is read at about 12 px on a phone and scales up
gently on a desktop. Labels never crowd: at most six month ticks, categories
as horizontal bars with their names beside them, legends wrapped in rows.
Every chart carries a title and a description for screen readers
(`role="img"`, `aria-labelledby`), and the same figures as a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
FONT = 13
#: Colour-blind-safe colours (Okabe and Ito) for series without a meaning of their own.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D00", "#666666")
#: The four colours of grades and needs, as people name them.
SIGNAL = {"green": "#2E7D32", "blue": "#1565C0", "yellow": "#E0A800", "red": "#C62828"}
MAX_TICKS = 6
LEGEND_COLUMN = 120


@dataclass(frozen=True)
class Chart:
    """An SVG chart and the table that says the same."""

    key: str
    title: str
    svg: Markup
    headings: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT, weight: str = "normal", fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}">{escape(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, label: str = "") -> str:
    title = f"<title>{escape(label)}</title>" if label else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}">{title}</rect>'


def _svg(key: str, title: str, description: str, height: float, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-labelledby="{key}-title {key}-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, \'PingFang SC\', \'Noto Sans CJK SC\', \'Microsoft YaHei\', sans-serif">'
        f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(description)}</desc>'
        + "".join(body) + "</svg>"
    )


def nice_ceiling(value: float) -> float:
    """A round number at or above `value` for an axis's top: 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def tick_every(count: int, most: int = MAX_TICKS) -> int:
    """Label every n-th of `count` categories so that at most `most` labels show."""
    return max(1, math.ceil(count / most))


def _legend(names: Sequence[str], colours: Sequence[str], top: float) -> tuple[list[str], float]:
    """Swatches and names in rows of as many as fit; returns the parts and the height used."""
    per_row = max(1, (WIDTH - 8) // LEGEND_COLUMN)
    parts = []
    for i, (name, colour) in enumerate(zip(names, colours)):
        x, y = 8 + (i % per_row) * LEGEND_COLUMN, top + (i // per_row) * 20
        parts.append(_rect(x, y, 12, 12, colour))
        parts.append(_text(x + 17, y + 11, name))
    rows = math.ceil(len(names) / per_row) if names else 0
    return parts, rows * 20


def _value_axis(top: float, bottom: float, left: float, right: float, ceiling: float, unit: str) -> list[str]:
    parts = []
    for i in range(3):
        value = ceiling * i / 2
        y = bottom - (bottom - top) * i / 2
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#ddd" stroke-width="1"/>')
        parts.append(_text(left - 4, y + 4, f"{value:,.0f}" if value == int(value) else f"{value:,.1f}", anchor="end", size=11, fill="#555"))
    if unit:
        parts.append(_text(left - 4, top - 8, unit, anchor="end", size=11, fill="#555"))
    return parts


def stacked_columns(key: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
                    unit: str = "", tick_labels: Sequence[str] | None = None, colours: Sequence[str] = PALETTE) -> Chart:
    """Columns per label (e.g. month), each stacked by series (e.g. category)."""
    left, right, top, plot_bottom = 44, WIDTH - 8, 24, 150
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    ceiling = nice_ceiling(max(totals, default=0))
    band = (right - left) / max(len(labels), 1)
    body = _value_axis(top, plot_bottom, left, right, ceiling, unit)
    every = tick_every(len(labels))
    shown = tick_labels or labels
    for i, label in enumerate(labels):
        x, y = left + i * band + band * 0.15, plot_bottom
        for j, (name, values) in enumerate(series):
            h = (plot_bottom - top) * values[i] / ceiling
            y -= h
            body.append(_rect(x, y, band * 0.7, h, colours[j % len(colours)], f"{label} {name} {values[i]:,.0f}"))
        if i % every == 0:
            body.append(_text(left + i * band + band / 2, plot_bottom + 16, shown[i], anchor="middle"))
    legend, used = _legend([name for name, _ in series], [colours[j % len(colours)] for j in range(len(series))], plot_bottom + 30)
    body.extend(legend)
    description = "; ".join(f"{label}: {total:,.0f}" for label, total in zip(labels, totals))
    rows = tuple((label, *(values[i] for _, values in series), totals[i]) for i, label in enumerate(labels))
    return Chart(key, title, _svg(key, title, description, plot_bottom + 34 + used, body),
                 ("", *(name for name, _ in series), "∑"), rows)


def bars(key: str, title: str, items: Sequence[tuple[str, float]], *, unit: str = "",
         colours: Sequence[str] | None = None, value_text: Sequence[str] | None = None,
         table: tuple[tuple[str, ...], tuple[tuple[object, ...], ...]] | None = None) -> Chart:
    """Horizontal bars, one per named item: long names stay readable on a phone. `table` gives more detail than the bars."""
    label_width, top, row = 112, 8, 28
    right = WIDTH - 56
    ceiling = max((v for _, v in items), default=0) or 1
    body = []
    texts = value_text or [f"{v:,.0f}{unit}" for _, v in items]
    for i, (name, value) in enumerate(items):
        y = top + i * row
        colour = (colours or PALETTE)[i % len(colours or PALETTE)]
        body.append(_text(label_width - 6, y + 15, name, anchor="end"))
        w = (right - label_width) * value / ceiling
        body.append(_rect(label_width, y + 3, w, 16, colour, f"{name} {texts[i]}"))
        body.append(_text(label_width + w + 4, y + 15, texts[i], size=11, fill="#333"))
    height = top + len(items) * row + 4
    description = "; ".join(f"{name}: {text}" for (name, _), text in zip(items, texts))
    headings, rows = table or (("", title), tuple((n, t) for (n, _), t in zip(items, texts)))
    return Chart(key, title, _svg(key, title, description, height, body), headings, rows)


def line(key: str, title: str, labels: Sequence[str], values: Sequence[float], *, unit: str = "",
         tick_labels: Sequence[str] | None = None, colour: str = PALETTE[0]) -> Chart:
    """One series over time, with a dot at every point and the last value written out."""
    left, right, top, bottom = 44, WIDTH - 16, 24, 150
    ceiling = nice_ceiling(max(values, default=0))
    inset = 18  # the first month's label clears the value axis's figures
    step = (right - left - inset) / max(len(labels) - 1, 1)
    body = _value_axis(top, bottom, left, right, ceiling, unit)
    points = [(left + inset + i * step, bottom - (bottom - top) * v / ceiling) for i, v in enumerate(values)]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for (x, y), label, value in zip(points, labels, values):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(label)} {value:,.0f}</title></circle>')
        x, y = points[-1]
        body.append(_text(x, y - 8, f"{values[-1]:,.0f}", anchor="end", weight="bold", fill=colour))
    every = tick_every(len(labels))
    shown = tick_labels or labels
    for i in range(len(labels)):
        if i % every == 0:
            body.append(_text(left + inset + i * step, bottom + 16, shown[i], anchor="middle"))
    description = "; ".join(f"{label}: {value:,.0f}" for label, value in zip(labels, values))
    return Chart(key, title, _svg(key, title, description, bottom + 24, body), ("", title), tuple(zip(labels, values)))


def strip(key: str, title: str, parts: Sequence[tuple[str, int, str]]) -> Chart:
    """A distribution as one strip split by share, with each part's count and percentage in the legend."""
    total = sum(count for _, count, _ in parts)
    left, right, top = 8, WIDTH - 8, 8
    body, x = [], float(left)
    for name, count, colour in parts:
        w = (right - left) * count / total if total else 0
        body.append(_rect(x, top, w, 28, colour, f"{name} {count:,}"))
        x += w
    if not total:
        body.append(_rect(left, top, right - left, 28, "#eee"))
    shares = [f"{name} {count:,}（{count * 100 / total:.0f}%）" if total else f"{name} 0" for name, count, _ in parts]
    legend, used = [], 0.0
    for i, (text, (_, _, colour)) in enumerate(zip(shares, parts)):
        col, row = i % 2, i // 2
        lx, ly = left + col * 176, top + 44 + row * 22
        legend.append(_rect(lx, ly, 12, 12, colour))
        legend.append(_text(lx + 17, ly + 11, text))
        used = (row + 1) * 22
    body.extend(legend)
    description = "; ".join(shares)
    return Chart(key, title, _svg(key, title, description, top + 44 + used + 4, body),
                 ("", title, "%"), tuple((name, count, f"{count * 100 / total:.0f}%" if total else "—") for name, count, _ in parts))
