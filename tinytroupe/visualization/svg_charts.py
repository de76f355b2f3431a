"""Inline SVG charts for the memory report: a line chart and a grouped bar chart, each with axes, round
ticks, gridlines, axis titles and a legend, and nothing fetched from anywhere.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tinytroupe.errors import InvalidArgument

_COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")
#: dash patterns per series, so lines that coincide stay distinguishable
_DASHES = ("", "7 4", "2 3", "9 3 2 3")
_esc = html.escape


def nice_ticks(lo: float, hi: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values covering ``lo .. hi`` (steps of 1, 2, 2.5 or 5 times a power of ten).

    Example:
        >>> nice_ticks(0, 87)
        [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        >>> nice_ticks(1, 3, integer=True)
        [1.0, 2.0, 3.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InvalidArgument(f"ticks need finite bounds, got {lo} .. {hi}")
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    start = math.floor(lo / step) * step
    ticks: list[float] = []
    # start + i * step, not repeated addition: no drift like 0.30000000000000004 in the labels.
    while not ticks or ticks[-1] < hi - step * 1e-9:
        ticks.append(float(round(start + len(ticks) * step, 10)))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:g}"


def _pct(value: float) -> str:
    return f"{value:.0%}"


@dataclass(frozen=True)
class _Frame:
    """A chart's canvas: its size, the plot area inside the margins, and the y range drawn."""

    title: str
    width: int
    height: int
    y0: float
    y1: float
    left: int = 64
    right: int = 20
    top: int = 48
    bottom: int = 56

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom

    def py(self, y: float) -> float:
        return self.top + self.plot_h - (y - self.y0) / ((self.y1 - self.y0) or 1.0) * self.plot_h

    def header(self) -> list[str]:
        return [f'<svg class="chart" width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} '
                f'{self.height}" role="img" aria-label="{_esc(self.title)}"><title>{_esc(self.title)}</title>',
                f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>',
                f'<text class="chart-title" x="{self.left}" y="20" font-size="14" font-weight="bold">'
                f"{_esc(self.title)}</text>"]

    def axis_lines(self) -> str:
        left, top, plot_w, plot_h = self.left, self.top, self.plot_w, self.plot_h
        return (f'<line class="axis-line" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#4a5568"/>'
                f'<line class="axis-line" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
                f'stroke="#4a5568"/>')

    def x_title(self, label: str) -> str:
        return (f'<text class="axis-title" x="{self.left + self.plot_w / 2:.1f}" y="{self.height - 10}" '
                f'font-size="12" text-anchor="middle">{_esc(label)}</text>')

    def y_title(self, label: str) -> str:
        middle = self.top + self.plot_h / 2
        return (f'<text class="axis-title" x="14" y="{middle:.1f}" font-size="12" text-anchor="middle" '
                f'transform="rotate(-90 14 {middle:.1f})">{_esc(label)}</text>')

    def legend(self, i: int, label: str, color: str) -> str:
        lx = self.left + i * 150
        return (f'<rect x="{lx}" y="{self.top - 20}" width="10" height="10" fill="{color}"/>'
                f'<text class="legend" x="{lx + 14}" y="{self.top - 11}" font-size="11">{_esc(label)}</text>')


def _x_ticks(xs: Sequence[float]) -> tuple[float, float, list[float]]:
    """The x range (the data exactly, no empty tail) and round ticks inside it."""
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    nice = nice_ticks(x0, x1, integer=True)
    half = (nice[1] - nice[0]) / 2 if len(nice) > 1 else 0.5
    # The first x is always labelled (it says where the series starts); round ticks too close to it are not.
    ticks = [x0, *(t for t in nice if x0 + half <= t <= x1)] if float(x0).is_integer() else \
        [t for t in nice if x0 <= t <= x1]
    return x0, x1, ticks


def svg_line_chart(title: str, x_label: str, y_label: str, xs: Sequence[float],
                   series: Sequence[tuple[str, Sequence[float]]], *, y_min: float | None = None,
                   y_max: float | None = None, refs: Sequence[tuple[str, float]] = (),
                   y_format: Callable[[float], str] = _fmt, width: int = 640, height: int = 280) -> str:
    """An inline SVG line chart with axes, round ticks, gridlines, axis titles, legend and dashed reference lines.

    Example:
        >>> svg = svg_line_chart("Size", "snapshot", "items", [1, 2, 3], [("episodic", [1, 5, 9])])
        >>> svg.startswith("<svg") and 'class="axis-title"' in svg and ">items</text>" in svg
        True
    """
    values = [v for _, vs in series for v in vs] + [v for _, v in refs]
    lo = y_min if y_min is not None else min(values, default=0.0)
    hi = y_max if y_max is not None else max(values, default=1.0)
    y_ticks = nice_ticks(lo, hi) if y_max is None or y_min is None else [lo + (hi - lo) * i / 5 for i in range(6)]
    f = _Frame(title, width, height, y_ticks[0], y_ticks[-1])
    x0, x1, x_ticks = _x_ticks(xs)

    def px(x: float) -> float:
        return f.left + (x - x0) / ((x1 - x0) or 1.0) * f.plot_w

    out = f.header()
    # Gridlines and tick labels first, so the data is drawn over them.
    out.append('<g class="axis y-axis" font-size="11" text-anchor="end">')
    for t in y_ticks:
        y = f.py(t)
        out.append(f'<line x1="{f.left}" y1="{y:.1f}" x2="{f.left + f.plot_w}" y2="{y:.1f}" stroke="#e2e8f0"/>'
                   f'<line x1="{f.left - 4}" y1="{y:.1f}" x2="{f.left}" y2="{y:.1f}" stroke="#4a5568"/>'
                   f'<text class="tick-label" x="{f.left - 7}" y="{y + 4:.1f}">{_esc(y_format(t))}</text>')
    out.append("</g>")
    out.append('<g class="axis x-axis" font-size="11" text-anchor="middle">')
    base = f.top + f.plot_h
    for t in x_ticks:
        x = px(t)
        out.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#4a5568"/>'
                   f'<text class="tick-label" x="{x:.1f}" y="{base + 17}">{_esc(_fmt(t))}</text>')
    out.append("</g>")
    out += [f.axis_lines(), f.x_title(x_label), f.y_title(y_label)]
    out += [_reference(f, label, value) for label, value in refs if f.y0 <= value <= f.y1]
    for i, (label, vs) in enumerate(series):
        out += _line(f, i, label, [(px(x), f.py(v)) for x, v in zip(xs, vs, strict=False)])
    out.append("</svg>")
    return "".join(out)


def _reference(f: _Frame, label: str, value: float) -> str:
    y = f.py(value)
    label_y = y - 4 if y - 14 >= f.top else y + 12  # below the line when it runs along the top
    return (f'<line class="reference" x1="{f.left}" y1="{y:.1f}" x2="{f.left + f.plot_w}" y2="{y:.1f}" '
            f'stroke="#c53030" stroke-dasharray="5 4"/>'
            f'<text x="{f.left + 6}" y="{label_y:.1f}" font-size="10" '
            # Left, where memory series are usually low, with a white halo in case a line passes.
            f'fill="#c53030" stroke="#ffffff" stroke-width="3" paint-order="stroke">{_esc(label)}</text>')


def _line(f: _Frame, i: int, label: str, points: list[tuple[float, float]]) -> list[str]:
    color = _COLORS[i % len(_COLORS)]
    dash = _DASHES[i % len(_DASHES)]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    out = []
    if len(points) > 1:
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="2"{dash_attr} '
                   f'points="{coords}">'
                   f"<title>{_esc(label)}</title></polyline>")
    if len(points) <= 60:  # dots help read a few points; on long series they only blur the line
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in points]
    out.append(f.legend(i, label, color))
    return out


def svg_bar_chart(title: str, x_label: str, y_label: str, categories: Sequence[str],
                  series: Sequence[tuple[str, Sequence[float]]], *, width: int = 640, height: int = 280) -> str:
    """An inline SVG grouped bar chart with axes, round ticks, axis titles and a legend.

    Example:
        >>> svg = svg_bar_chart("Consolidations", "consolidation", "items", ["1", "2"], [("in", [10, 20])])
        >>> svg.count('class="bar"'), ">consolidation</text>" in svg
        (2, True)
    """
    ticks = nice_ticks(0.0, max([v for _, vs in series for v in vs], default=1.0) or 1.0)
    f = _Frame(title, width, height, 0.0, ticks[-1])
    out = [*f.header(), '<g class="axis y-axis" font-size="11" text-anchor="end">']
    for t in ticks:
        y = f.py(t)
        out.append(f'<line x1="{f.left}" y1="{y:.1f}" x2="{f.left + f.plot_w}" y2="{y:.1f}" stroke="#e2e8f0"/>'
                   f'<text class="tick-label" x="{f.left - 7}" y="{y + 4:.1f}">{_esc(_fmt(t))}</text>')
    out.append('</g><g class="axis x-axis" font-size="11" text-anchor="middle">')
    slot = f.plot_w / max(len(categories), 1)
    bar_w = slot * 0.8 / max(len(series), 1)
    # Label every category when they fit, else about ten of them.
    every = max(1, math.ceil(len(categories) / 10))
    for c, name in enumerate(categories):
        if c % every == 0:
            out.append(f'<text class="tick-label" x="{f.left + slot * (c + 0.5):.1f}" y="{f.top + f.plot_h + 17}">'
                       f"{_esc(name)}</text>")
    out.append("</g>")
    for i, (label, vs) in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        for c, v in enumerate(vs):
            x = f.left + slot * c + slot * 0.1 + i * bar_w
            out.append(f'<rect class="bar" x="{x:.1f}" y="{f.py(v):.1f}" width="{bar_w:.1f}" '
                       f'height="{f.top + f.plot_h - f.py(v):.1f}" fill="{color}"><title>{_esc(label)} '
                       f"{_esc(categories[c])}: {_esc(_fmt(v))}</title></rect>")
        out.append(f.legend(i, label, color))
    out += [f.axis_lines(), f.x_title(x_label), f.y_title(y_label), "</svg>"]
    return "".join(out)


__all__ = ["nice_ticks", "svg_bar_chart", "svg_line_chart"]
