"""Paths on a grid: A* over the free cells of a boolean wall array (4-connected, unit steps), and the
connected regions that tell at once when a goal cannot be reached.

Cells are ``(x, y)`` pairs: ``x`` the column, ``y`` the row, ``walls[y, x]`` True where nobody can
stand. A* expands cells by ``f = g + h`` with the Manhattan distance as ``h`` (exact on an open
4-connected grid, so the path found is a shortest one) and breaks ties towards the goal, which keeps
the search narrow on open floors. A goal in another region than the start is answered without a
search (:func:`regions`), so an unreachable target costs a table look-up, not a flood of the map.

Example:
    >>> import numpy as np
    >>> walls = np.zeros((3, 4), dtype=bool)
    >>> walls[0:2, 1] = True  # a wall down column 1, open at the bottom row
    >>> astar(walls, (0, 0), (2, 0))
    [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0)]
    >>> astar(walls, (0, 0), (0, 0))
    [(0, 0)]
"""

from __future__ import annotations

import heapq

import numpy as np

Cell = tuple[int, int]


def regions(walls: np.ndarray) -> np.ndarray:
    """Label each free cell with the number of its 4-connected region (walls get 0).

    Two cells are mutually reachable exactly when their labels are equal and non-zero.
    """
    from scipy import ndimage  # scipy.ndimage is loaded on the first map that needs it, not at import

    labels, _ = ndimage.label(~walls, structure=np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]))
    return labels


def neighbour_table(walls: np.ndarray) -> list[tuple[int, ...]]:
    """For each cell (by flat index ``y * width + x``), the flat indices of its free 4-neighbours
    (empty for walls): built once per map, it spares the search every bounds and wall check."""
    height, width = walls.shape
    free = (~walls).ravel().tolist()
    table: list[tuple[int, ...]] = [()] * (height * width)
    for i, ok in enumerate(free):
        if ok:
            y, x = divmod(i, width)
            table[i] = tuple(j for j, inside in ((i - 1, x > 0), (i + 1, x < width - 1), (i - width, y > 0),
                                                 (i + width, y < height - 1)) if inside and free[j])
    return table


def astar(walls: np.ndarray, start: Cell, goal: Cell, table: list[tuple[int, ...]] | None = None) -> list[Cell] | None:
    """A shortest 4-connected path from ``start`` to ``goal`` (both included), or None if there is none.

    Both cells must be on the grid and free (the caller checks: :class:`~.maps.GridMap` does, and
    passes its cached :func:`neighbour_table`).
    """
    width = walls.shape[1]
    if start == goal:
        return [start]
    if table is None:
        table = neighbour_table(walls)
    s = start[1] * width + start[0]
    g = goal[1] * width + goal[0]
    gx, gy = goal
    best = [1 << 62] * len(table)
    best[s] = 0
    came: dict[int, int] = {}
    # (f, h, cell): equal f goes to the smaller h first (towards the goal), then the smaller index,
    # so the search is deterministic and stays narrow on open floors
    heap: list[tuple[int, int, int]] = [(abs(start[0] - gx) + abs(start[1] - gy), 0, s)]
    push, pop = heapq.heappush, heapq.heappop
    closed = bytearray(len(table))
    while heap:
        _, _, cur = pop(heap)
        if cur == g:
            return _walk_back(came, cur, width)
        if closed[cur]:
            continue
        closed[cur] = 1
        cost = best[cur] + 1
        for nxt in table[cur]:
            if cost < best[nxt]:
                best[nxt] = cost
                came[nxt] = cur
                y, x = divmod(nxt, width)
                h = abs(x - gx) + abs(y - gy)
                push(heap, (cost + h, h, nxt))
    return None


def _walk_back(came: dict[int, int], cur: int, width: int) -> list[Cell]:
    path = [cur]
    while cur in came:
        cur = came[cur]
        path.append(cur)
    path.reverse()
    return [(i % width, i // width) for i in path]


__all__ = ["Cell", "astar", "neighbour_table", "regions"]
