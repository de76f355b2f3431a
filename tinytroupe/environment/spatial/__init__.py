"""Space: worlds on a map, where agents have positions, walk along paths, see and hear only what is
near, and remember where they saw whom.

Public names: SpatialWorld, GridMap, PlaceGraph, Unreachable, SpatialMemory, SpatialActions,
SpatialIndex, heatmap_svg.
"""

from tinytroupe.environment.spatial.index import SpatialIndex
from tinytroupe.environment.spatial.maps import GridMap, PlaceGraph, Position, SpaceMap, Unreachable
from tinytroupe.environment.spatial.memory import SpatialActions, SpatialMemory
from tinytroupe.environment.spatial.render import heatmap_svg
from tinytroupe.environment.spatial.world import SpatialWorld

__all__ = ["GridMap", "PlaceGraph", "Position", "SpaceMap", "SpatialActions", "SpatialIndex", "SpatialMemory",
           "SpatialWorld", "Unreachable", "heatmap_svg"]
