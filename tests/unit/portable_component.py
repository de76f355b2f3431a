"""A portable turn component in a module of the tests (not tinytroupe's): a worker process that has not
imported this module must refuse to rebuild it (see ``test_sharded_components``)."""

from __future__ import annotations

from helpers import TurnCounter


class Counter(TurnCounter):
    """Counts the agent's turns."""

    portable = True
