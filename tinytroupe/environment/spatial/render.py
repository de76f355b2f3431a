"""Drawing a spatial world: as text (``render_ascii``), as an SVG document (``render_svg``, no
dependency), as a PNG (``render_png``, when Pillow is installed), and a grid of counts as an SVG heat
map (:func:`heatmap_svg`).

In text a grid shows ``#`` for walls, ``.`` for floor, the first letter of each thing in lower case,
and each agent as the first letter of its name (``*`` where several stand); a legend follows. A graph
of places lists each place with who is there.

Example:
    >>> import numpy as np
    >>> svg = heatmap_svg(np.array([[0, 2], [1, 0]]), cell_px=10)
    >>> svg.startswith("<svg") and svg.count("<rect") == 5  # the background and four cells
    True
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from tinytroupe.environment.spatial.maps import GridMap, Position, SpaceMap
from tinytroupe.environment.spatial.pathfinding import Cell
from tinytroupe.errors import ConfigError, InvalidArgument

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


class SpatialRendering:
    """Mixin of :class:`~tinytroupe.environment.spatial.SpatialWorld`: its pictures."""

    if TYPE_CHECKING:
        agents: list[TinyPerson]
        space: SpaceMap
        things: dict[str, Position]
        _positions: dict[str, Position]

    def render_ascii(self, legend: bool = True) -> str:
        """The map as text with agents and things on it (see the module docstring)."""
        space = self.space
        if not isinstance(space, GridMap):
            at: dict[str, list[str]] = {}
            for agent in self.agents:
                at.setdefault(str(self._positions[agent.name]), []).append(agent.name)
            return "\n".join(f"{place}: {', '.join(at.get(place, [])) or '-'}" for place in space.free_cells())
        rows = [["#" if wall else "." for wall in row] for row in space.walls.tolist()]
        for name, thing in self.things.items():
            x, y = cast(Cell, thing)
            rows[y][x] = name[0].lower()
        keys: list[str] = []
        for agent in self.agents:
            x, y = cast(Cell, self._positions[agent.name])
            mark = agent.name[0].upper()
            rows[y][x] = "*" if rows[y][x].isupper() or rows[y][x] == "*" else mark
            keys.append(f"{mark}={agent.name} ({x}, {y})")
        text = "\n".join("".join(row) for row in rows)
        if legend and (keys or self.things):
            text += "\n" + "; ".join([*keys, *(f"{n[0].lower()}={n}" for n in self.things)])
        return text

    def render_svg(self, cell_px: int = 12) -> str:
        """The map as an SVG document: walls dark, things as squares, agents as labelled dots."""
        space = self.space
        if not isinstance(space, GridMap):
            return _graph_svg(self, cell_px)
        w, h = space.width * cell_px, space.height * cell_px
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
                 f'<rect width="{w}" height="{h}" fill="#fafafa"/>']
        for y, x in np.argwhere(space.walls).tolist():
            parts.append(f'<rect x="{x * cell_px}" y="{y * cell_px}" width="{cell_px}" height="{cell_px}" '
                         'fill="#444"/>')
        for name, thing in self.things.items():
            x, y = cast(Cell, thing)
            parts.append(f'<rect x="{x * cell_px + 2}" y="{y * cell_px + 2}" width="{cell_px - 4}" '
                         f'height="{cell_px - 4}" fill="#e8b800"><title>{escape(name)}</title></rect>')
        r = cell_px / 2
        for i, agent in enumerate(self.agents):
            x, y = cast(Cell, self._positions[agent.name])
            parts.append(f'<circle cx="{x * cell_px + r}" cy="{y * cell_px + r}" r="{r * 0.8:g}" '
                         f'fill="{_PALETTE[i % len(_PALETTE)]}"><title>{escape(agent.name)}</title></circle>')
        parts.append("</svg>")
        return "\n".join(parts)

    def render_png(self, path: str | Path, cell_px: int = 12) -> Path:
        """Write the map as a PNG image (as :meth:`render_svg` draws it) and return its path.

        Raises:
            ConfigError: Pillow is not installed (``pip install pillow``); the SVG needs nothing.
            InvalidArgument: the world's map is a graph of places (draw it with :meth:`render_svg`).
        """
        try:
            from PIL import Image, ImageDraw  # optional: only this method needs it
        except ImportError:
            raise ConfigError("render_png needs Pillow: pip install pillow (render_svg needs nothing)") from None
        space = self.space
        if not isinstance(space, GridMap):
            raise InvalidArgument("render_png draws grids; draw a graph of places with render_svg")
        image = Image.new("RGB", (space.width * cell_px, space.height * cell_px), "#fafafa")
        draw = ImageDraw.Draw(image)
        for y, x in np.argwhere(space.walls).tolist():
            draw.rectangle([x * cell_px, y * cell_px, (x + 1) * cell_px - 1, (y + 1) * cell_px - 1], fill="#444")
        for i, agent in enumerate(self.agents):
            x, y = cast(Cell, self._positions[agent.name])
            draw.ellipse([x * cell_px + 1, y * cell_px + 1, (x + 1) * cell_px - 2, (y + 1) * cell_px - 2],
                         fill=_PALETTE[i % len(_PALETTE)])
        out = Path(path)
        image.save(out, format="PNG")
        return out


def _graph_svg(world: SpatialRendering, size: int) -> str:
    space = world.space
    assert not isinstance(space, GridMap)
    places = space.free_cells()
    coords = {p: space.coords.get(p, (i % 6 * 4.0, i // 6 * 4.0)) for i, p in enumerate(places)}
    scale = size * 3
    w = int(max((c[0] for c in coords.values()), default=0) * scale + 2 * scale)
    h = int(max((c[1] for c in coords.values()), default=0) * scale + 2 * scale)
    pt = {p: (c[0] * scale + scale, c[1] * scale + scale) for p, c in coords.items()}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">']
    for a, b in space.graph.edges:
        parts.append(f'<line x1="{pt[a][0]:g}" y1="{pt[a][1]:g}" x2="{pt[b][0]:g}" y2="{pt[b][1]:g}" stroke="#999"/>')
    for place, (x, y) in pt.items():
        here = [a.name for a in world.agents if world._positions[a.name] == place]
        label = escape(place + (f": {', '.join(here)}" if here else ""))
        parts.append(f'<circle cx="{x:g}" cy="{y:g}" r="{size / 2:g}" fill="#1f77b4"/>'
                     f'<text x="{x + size:g}" y="{y:g}" font-size="{size}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def heatmap_svg(counts: np.ndarray, walls: np.ndarray | None = None, cell_px: int = 12) -> str:
    """A ``(rows, columns)`` array of counts as an SVG heat map: white for none, deepening red for more;
    ``walls`` (same shape) are drawn dark. Each cell's count is its tooltip."""
    counts = np.asarray(counts)
    rows, cols = counts.shape
    top = float(counts.max()) if counts.size and counts.max() > 0 else 1.0
    w, h = cols * cell_px, rows * cell_px
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
             f'<rect width="{w}" height="{h}" fill="#ffffff"/>']
    for y in range(rows):
        for x in range(cols):
            if walls is not None and walls[y, x]:
                fill = "#444444"
            else:
                level = round(255 * (1 - float(counts[y, x]) / top))
                fill = f"#ff{level:02x}{level:02x}"
            parts.append(f'<rect x="{x * cell_px}" y="{y * cell_px}" width="{cell_px}" height="{cell_px}" '
                         f'fill="{fill}"><title>{counts[y, x]}</title></rect>')
    parts.append("</svg>")
    return "\n".join(parts)


__all__ = ["SpatialRendering", "heatmap_svg"]
