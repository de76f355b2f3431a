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


def astar(walls: np.ndarray, start: Cell, goal: Cell) -> list[Cell] | None:
    """A shortest 4-connected path from ``start`` to ``goal`` (both included), or None if there is none.

    Both cells must be on the grid and free (the caller checks: :class:`~.maps.GridMap` does).
    """
    height, width = walls.shape
    if start == goal:
        return [start]
    blocked = walls.ravel().tolist()  # Python bools index faster than numpy scalars in the loop
    s = start[1] * width + start[0]
    g = goal[1] * width + goal[0]
    gx, gy = goal
    best = {s: 0}
    came: dict[int, int] = {}
    # (f, h, counter, cell): equal f goes to the smaller h first (towards the goal); the counter keeps
    # the order deterministic without comparing anything else
    heap: list[tuple[int, int, int, int]] = [(abs(start[0] - gx) + abs(start[1] - gy), 0, 0, s)]
    counter = 0
    closed = bytearray(height * width)
    while heap:
        _, _, _, cur = heapq.heappop(heap)
        if cur == g:
            return _walk_back(came, cur, width)
        if closed[cur]:
            continue
        closed[cur] = 1
        cy, cx = divmod(cur, width)
        cost = best[cur] + 1
        for nxt, nx_, ny_, ok in ((cur - 1, cx - 1, cy, cx > 0), (cur + 1, cx + 1, cy, cx < width - 1),
                                  (cur - width, cx, cy - 1, cy > 0), (cur + width, cx, cy + 1, cy < height - 1)):
            if not ok or blocked[nxt] or closed[nxt] or best.get(nxt, cost + 1) <= cost:
                continue
            best[nxt] = cost
            came[nxt] = cur
            h = abs(nx_ - gx) + abs(ny_ - gy)
            counter += 1
            heapq.heappush(heap, (cost + h, h, counter, nxt))
    return None


def _walk_back(came: dict[int, int], cur: int, width: int) -> list[Cell]:
    path = [cur]
    while cur in came:
        cur = came[cur]
        path.append(cur)
    path.reverse()
    return [(i % width, i // width) for i in path]


__all__ = ["Cell", "astar", "regions"]
