"""The conversation network drawn as one inline SVG: agents on a circle (in the order given: the most central
first), arrows ``speaker -> listener`` as thick as they are frequent, nodes as large as what each said and
heard. A circle, not a force layout: the same run always gives the same picture, and every pair of arrows
stays visible.

Example:
    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_edge("Ana", "Ben", weight=3); g.add_edge("Ben", "Ana", weight=1)
    >>> svg = network_svg(g)
    >>> svg.startswith("<svg") and svg.count('class="edge"'), svg.count('class="node"')
    (2, 2)
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

_esc = html.escape
#: agents drawn at most (the rest are counted under the picture)
MAX_NODES = 40


def network_svg(graph: nx.DiGraph, order: Sequence[str] | None = None, *, title: str = "Who talks to whom",
                size: int = 460) -> str:
    """The graph as an SVG (``order``: the agents' order around the circle, default the graph's)."""
    nodes = [n for n in (order if order is not None else list(graph.nodes)) if n in graph][:MAX_NODES]
    hidden = graph.number_of_nodes() - len(nodes)
    centre, radius = size / 2, size / 2 - 70
    where = {n: (centre + radius * math.cos(2 * math.pi * i / max(len(nodes), 1) - math.pi / 2),
                 centre + 14 + radius * math.sin(2 * math.pi * i / max(len(nodes), 1) - math.pi / 2))
             for i, n in enumerate(nodes)}
    heaviest = max((w for _, _, w in graph.edges(data="weight", default=1)), default=1) or 1
    volume = {n: graph.nodes[n].get("said", 0) + graph.nodes[n].get("heard", 0) for n in nodes}
    loudest = max(volume.values(), default=1) or 1
    out = [f'<svg class="chart network" width="{size}" height="{size + 20}" viewBox="0 0 {size} {size + 20}" '
           f'role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>',
           '<defs><marker id="tt-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
           'markerUnits="userSpaceOnUse" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#718096"/></marker></defs>',
           f'<rect width="{size}" height="{size + 20}" fill="#ffffff"/>',
           f'<text x="12" y="20" font-size="14" font-weight="bold">{_esc(title)}</text>']
    radii = {n: 8 + 14 * math.sqrt(volume[n] / loudest) for n in nodes}
    for a, b, weight in graph.edges(data="weight", default=1):
        if a not in where or b not in where:
            continue
        (x1, y1), (x2, y2) = where[a], where[b]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        # Both directions of a pair are drawn side by side: shift each to its own right.
        nx_, ny_ = -(y2 - y1) / length * 4, (x2 - x1) / length * 4
        sx, sy = x1 + (x2 - x1) * radii[a] / length + nx_, y1 + (y2 - y1) * radii[a] / length + ny_
        ex, ey = x2 - (x2 - x1) * (radii[b] + 2) / length + nx_, y2 - (y2 - y1) * (radii[b] + 2) / length + ny_
        out.append(f'<line class="edge" x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="#718096" '
                   f'stroke-opacity="0.8" stroke-width="{1 + 4 * weight / heaviest:.1f}" marker-end="url(#tt-arrow)">'
                   f"<title>{_esc(str(a))} → {_esc(str(b))}: {weight}</title></line>")
    for n in nodes:
        x, y = where[n]
        data = graph.nodes[n]
        out.append(f'<circle class="node" cx="{x:.1f}" cy="{y:.1f}" r="{radii[n]:.1f}" fill="#2b6cb0" '
                   f'fill-opacity="0.85"><title>{_esc(str(n))}: said {data.get("said", 0)}, heard '
                   f'{data.get("heard", 0)}</title></circle>'
                   f'<text x="{x:.1f}" y="{y - radii[n] - 4:.1f}" font-size="11" text-anchor="middle">'
                   f"{_esc(str(n))}</text>")
    if not nodes:
        out.append(f'<text x="{centre}" y="{centre}" font-size="12" text-anchor="middle">nobody spoke</text>')
    if hidden > 0:
        out.append(f'<text x="12" y="{size + 12}" font-size="11">… and {hidden} more agents</text>')
    out.append("</svg>")
    return "".join(out)


__all__ = ["MAX_NODES", "network_svg"]
