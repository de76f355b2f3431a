"""The bounds on each kind of input file (:class:`Limits`; the values in use are tabled in
:mod:`tinytroupe.safe_load`) and :class:`InputProblem`, what every bounded reader raises.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds on one input file; see the module docstring for the values in use."""

    max_bytes: int
    max_depth: int = 64
    max_items: int = 10_000
    max_string: int = 100_000
    max_nodes: int = 200_000
    max_aliases: int = 1_000
    max_int_digits: int = 100


#: bounds for YAML scenario files (PyYAML composes about 100,000 values a second, so these also bound
#: the time a hostile file can take to a second or two)
SCENARIO_LIMITS = Limits(max_bytes=512 * 1024, max_nodes=100_000)
#: bounds for ``.agent.json`` / ``.fragment.json`` files (TinyTroupe's may carry a saved memory)
PERSONA_LIMITS = Limits(max_bytes=16 * 1024 * 1024, max_items=100_000, max_string=1_000_000,
                        max_nodes=2_000_000)
#: bounds for ``tinytroupe.toml`` and ``config.ini``
CONFIG_LIMITS = Limits(max_bytes=1024 * 1024)


class InputProblem(Exception):
    """What is wrong with an input and where: ``line``/``column`` (1-based) and/or ``where``, a
    path inside the document (``agents[2].persona.age``). Callers wrap it in their own error."""

    def __init__(self, reason: str, *, line: int | None = None, column: int | None = None,
                 where: str | None = None, parts: tuple[int | str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column
        self.where = where
        #: ``where`` as keys and indexes, for callers that locate it themselves
        self.parts = parts


__all__ = ["CONFIG_LIMITS", "PERSONA_LIMITS", "SCENARIO_LIMITS", "InputProblem", "Limits"]
