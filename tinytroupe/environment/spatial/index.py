"""The spatial index of one moment: who is within a radius of whom, fast with many agents.

On a grid it is a k-d tree (``scipy.spatial.cKDTree``) over the agents' cells, rebuilt once per step
(building one over a thousand points takes well under a millisecond, and ``query_pairs`` finds every
pair within a radius in C). Sight can be blocked by walls: :func:`clear_lines` checks all pairs'
lines at once with numpy, sampling each line at half-cell intervals. On a graph of places agents are
grouped by place, and a radius is a set of places (cached per place and radius by the map).

Example:
    >>> from tinytroupe.environment.spatial.maps import GridMap
    >>> grid = GridMap.from_ascii(["......", "..#...", "......"])
    >>> index = SpatialIndex.build(grid, [(0, 1), (4, 1), (1, 0)], line_of_sight=True)
    >>> sorted(map(tuple, index.pairs(5.0).tolist()))  # (0, 1) and (4, 1): the wall at (2, 1) is between
    [(0, 2), (1, 2)]
    >>> index.near((1, 1), 1.5)
    [0, 2]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from tinytroupe.environment.spatial.maps import GridMap, PlaceGraph, Position, SpaceMap


def clear_lines(walls: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of the ``(P, 2)`` cell arrays ``a`` and ``b``, whether the straight line between the
    two cells crosses no wall (the end cells themselves are not checked: one may be a shelf)."""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    span = int(np.abs(b - a).max())
    t = np.linspace(0.0, 1.0, 2 * span + 1)[1:-1]
    if t.size == 0:
        return np.ones(len(a), dtype=bool)
    pts = np.floor(a[:, None, :] + t[None, :, None] * (b - a)[:, None, :] + 0.5).astype(np.intp)
    xs, ys = pts[..., 0], pts[..., 1]
    ends = ((xs == a[:, None, 0]) & (ys == a[:, None, 1])) | ((xs == b[:, None, 0]) & (ys == b[:, None, 1]))
    return ~(walls[ys, xs] & ~ends).any(axis=1)


class SpatialIndex:
    """Who is near whom; build with :meth:`build`."""

    def pairs(self, radius: float) -> np.ndarray:
        """Every unordered pair ``[i, j]`` (``i < j``) of indices within ``radius`` of each other, as a
        ``(P, 2)`` integer array (in sight of each other when the index checks lines of sight)."""
        raise NotImplementedError

    def near(self, position: Position, radius: float) -> list[int]:
        """The indices within ``radius`` of ``position`` (walls do not matter), in index order."""
        raise NotImplementedError

    def near_points(self, points: Sequence[Position], radius: float) -> list[list[int]]:
        """For each of ``points``, the indices within ``radius`` and in sight of it."""
        raise NotImplementedError

    @staticmethod
    def build(space: SpaceMap, positions: Sequence[Position], line_of_sight: bool = True) -> SpatialIndex:
        """An index over ``positions`` on ``space``."""
        if isinstance(space, GridMap):
            return GridIndex(space, positions, line_of_sight)
        return GraphIndex(space, positions)


class GridIndex(SpatialIndex):
    """A k-d tree over cells; radii are in the map's unit (``cell_size`` per cell)."""

    def __init__(self, space: GridMap, positions: Sequence[Position], line_of_sight: bool) -> None:
        from scipy.spatial import cKDTree  # loaded with the first spatial step, not at import

        self.space = space
        self.cells = np.asarray(positions, dtype=np.intp).reshape(-1, 2)
        self.tree = cKDTree(self.cells) if len(self.cells) else None
        self.line_of_sight = line_of_sight

    def pairs(self, radius: float) -> np.ndarray:
        if self.tree is None:
            return np.zeros((0, 2), dtype=np.intp)
        found = self.tree.query_pairs(radius / self.space.cell_size, output_type="ndarray")
        if self.line_of_sight and len(found):
            found = found[clear_lines(self.space.walls, self.cells[found[:, 0]], self.cells[found[:, 1]])]
        return found

    def near(self, position: Position, radius: float) -> list[int]:
        if self.tree is None:
            return []
        return sorted(int(i) for i in self.tree.query_ball_point(position, radius / self.space.cell_size))

    def near_points(self, points: Sequence[Position], radius: float) -> list[list[int]]:
        if self.tree is None or not points:
            return [[] for _ in points]
        pts = np.asarray(points, dtype=np.intp).reshape(-1, 2)
        hits = self.tree.query_ball_point(pts, radius / self.space.cell_size)
        rows = [(p, i) for p, found in enumerate(hits) for i in found]
        if not rows:
            return [[] for _ in points]
        pair = np.asarray(rows, dtype=np.intp)
        if self.line_of_sight:
            pair = pair[clear_lines(self.space.walls, pts[pair[:, 0]], self.cells[pair[:, 1]])]
        out: list[list[int]] = [[] for _ in points]
        for p, i in pair.tolist():
            out[p].append(i)
        return out


class GraphIndex(SpatialIndex):
    """Agents grouped by place; a radius is the places within that walking distance."""

    def __init__(self, space: PlaceGraph, positions: Sequence[Position]) -> None:
        self.space = space
        self.at: dict[str, list[int]] = defaultdict(list)
        for i, place in enumerate(positions):
            self.at[str(place)].append(i)

    def pairs(self, radius: float) -> np.ndarray:
        found: list[tuple[int, int]] = []
        for place, members in self.at.items():
            for other in self.space.within(place, radius):
                for i in members:
                    found += [(i, j) for j in self.at.get(other, ()) if i < j]
        return np.asarray(sorted(found), dtype=np.intp).reshape(-1, 2)

    def near(self, position: Position, radius: float) -> list[int]:
        return sorted(i for other in self.space.within(str(position), radius) for i in self.at.get(other, ()))

    def near_points(self, points: Sequence[Position], radius: float) -> list[list[int]]:
        return [self.near(p, radius) for p in points]


__all__ = ["GraphIndex", "GridIndex", "SpatialIndex", "clear_lines"]
