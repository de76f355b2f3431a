"""Drawing a knowledge graph: a self-contained SVG (nodes coloured by entity type, labelled arrows).

The layout is networkx's spring layout with a fixed seed, so the same graph draws the same picture;
a graph larger than ``max_nodes`` is cut to its best-connected entities first (a picture of
thousands of nodes shows nothing). For the dashboard's network view use the JSON instead
(:func:`tinytroupe.grounding.graph.graph_json`).

Example:
    >>> from tinytroupe.grounding.graph import InMemoryGraphStore
    >>> g = InMemoryGraphStore("demo")
    >>> _ = g.add_relation("Ana", "works at", "Acme")
    >>> svg = graph_svg(g, title="Ana's beliefs")
    >>> svg.startswith("<svg") and "works_at" in svg and "Ana&#x27;s beliefs" in svg
    True
"""

from __future__ import annotations

import html
import math
import re

import networkx as nx

from tinytroupe.errors import InvalidArgument
from tinytroupe.grounding.graph import GraphStore, GraphView

_COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#2c7a7b", "#718096")
#: what XML 1.0 cannot hold even escaped (control characters, lone surrogates): one in a label (an LLM's
#: answer, a PDF's form feed) would make the whole picture unreadable, so it is shown as U+FFFD
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _esc(text: str) -> str:
    return html.escape(_NOT_XML.sub("\ufffd", text))


def graph_svg(graph: GraphStore | GraphView, *, title: str | None = None, width: int = 800, height: int = 600,
              max_nodes: int = 150, seed: int = 0) -> str:
    """An SVG picture of ``graph`` (a store, or a view such as a neighbourhood).

    Raises:
        InvalidArgument: ``width``, ``height`` or ``max_nodes`` is below 1.
    """
    if width < 1 or height < 1 or max_nodes < 1:
        raise InvalidArgument(f"width, height and max_nodes must be >= 1, got {width}, {height}, {max_nodes}")
    view = (graph if isinstance(graph, GraphView) else graph.view()).trimmed(max_nodes)
    g = nx.MultiDiGraph()
    g.add_nodes_from(e.id for e in view.entities)
    g.add_edges_from((r.subject, r.object) for r in view.relations)
    pos = nx.spring_layout(g, seed=seed) if len(g) > 1 else {n: (0.0, 0.0) for n in g}
    top = 40 if title else 20
    margin = 60

    def xy(node: str) -> tuple[float, float]:
        x, y = pos[node]
        return (margin + (float(x) + 1) / 2 * (width - 2 * margin),
                top + margin / 2 + (float(y) + 1) / 2 * (height - top - margin))

    types = sorted({e.type for e in view.entities})
    color = {t: _COLORS[i % len(_COLORS)] for i, t in enumerate(types)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           '<defs><marker id="kg-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#718096"/></marker></defs>',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        out.append(f'<text x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="15" '
                   f'font-weight="bold">{_esc(title)}</text>')
    for r in view.relations:
        (x1, y1), (x2, y2) = xy(r.subject), xy(r.object)
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        # stop the arrow at the target's circle, not its centre
        x2s, y2s = x2 - (x2 - x1) / length * 9, y2 - (y2 - y1) / length * 9
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2s:.1f}" y2="{y2s:.1f}" stroke="#a0aec0" '
                   'marker-end="url(#kg-arrow)"/>')
        out.append(f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 3:.1f}" text-anchor="middle" '
                   f'fill="#4a5568" font-size="9">{_esc(r.predicate)}</text>')
    for e in view.entities:
        x, y = xy(e.id)
        out.append(f'<g><title>{_esc(e.name)} ({_esc(e.type)})</title><circle cx="{x:.1f}" cy="{y:.1f}" r="7" '
                   f'fill="{color[e.type]}"/><text x="{x + 9:.1f}" y="{y + 4:.1f}">{_esc(e.name)}</text></g>')
    for i, t in enumerate(types):  # the legend: one swatch per entity type
        y = height - 14 - 14 * (len(types) - 1 - i)
        out.append(f'<circle cx="12" cy="{y - 4}" r="5" fill="{color[t]}"/><text x="22" y="{y}">{_esc(t)}</text>')
    out.append("</svg>")
    return "\n".join(out)


__all__ = ["graph_svg"]
