"""``ABRandomizer``: show two options in a random, remembered order (blind A/B), and decode the choice later.

A judge (a simulated person) sees option "A" and option "B" without knowing which one is the control;
for each item the randomizer flips a seeded coin to decide the order, remembers it, and turns the
blind answer ("A", "B") back into the real name ("control", "treatment").

Where we differ on purpose: TinyTroupe drew every item's order from a generator re-made from the same
seed, so every item got the same order; here item ``i`` gets its own coin, drawn from a numpy
generator seeded by ``(random_seed, i)``, so orders differ between items and do not depend on the
order in which items are randomized. The choices can be saved and restored (:meth:`to_dict`).

Example:
    >>> r = ABRandomizer(random_seed=7)
    >>> shown = [r.randomize(i, "old ad", "new ad") for i in range(6)]
    >>> sorted({s[0] for s in shown}) == ["new ad", "old ad"]  # both orders occur
    True
    >>> r.derandomize(0, *shown[0])
    ('old ad', 'new ad')
    >>> r.derandomize_name(0, "A") == ("control" if shown[0][0] == "old ad" else "treatment")
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytroupe.errors import InvalidArgument, NotFound

Item = int | str


def _item_key(i: Item) -> int:
    # Stable across processes (no hash randomisation): ints as they are, strings by their digest.
    if isinstance(i, bool) or not isinstance(i, int | str):
        raise InvalidArgument(f"an item index must be an int or a str, got {type(i).__name__}")
    if isinstance(i, int):
        if i < 0:
            raise InvalidArgument(f"an item index must be non-negative, got {i}")
        return i
    return int.from_bytes(hashlib.sha256(i.encode("utf-8")).digest()[:8], "big")


class ABRandomizer:
    """Randomize the order of two options per item, and undo it.

    Args:
        real_name_1: the real name of the first option (as in your data), ``"control"``.
        real_name_2: the real name of the second, ``"treatment"``.
        blind_name_a: what the judge calls the option shown first, ``"A"``.
        blind_name_b: what the judge calls the option shown second, ``"B"``.
        passtrough_name: answers returned as they are (e.g. ``["neither"]``); TinyTroupe's spelling.
        random_seed: the seed of every item's coin.

    Raises:
        InvalidArgument: the two blind names are the same.
    """

    def __init__(self, real_name_1: str = "control", real_name_2: str = "treatment", blind_name_a: str = "A",
                 blind_name_b: str = "B", passtrough_name: Sequence[str] | None = None, random_seed: int = 42) -> None:
        if blind_name_a == blind_name_b:
            raise InvalidArgument(f"the two blind names must differ, both are {blind_name_a!r}")
        self.real_name_1 = real_name_1
        self.real_name_2 = real_name_2
        self.blind_name_a = blind_name_a
        self.blind_name_b = blind_name_b
        self.passtrough_name = list(passtrough_name or [])
        self.random_seed = int(random_seed)
        #: per item, (0, 1) when shown as given, (1, 0) when swapped (TinyTroupe's encoding)
        self.choices: dict[Item, tuple[int, int]] = {}

    def _swapped(self, i: Item) -> bool:
        return bool(np.random.default_rng([self.random_seed, _item_key(i)]).random() >= 0.5)

    def randomize(self, i: Item, a: Any, b: Any) -> tuple[Any, Any]:
        """Return ``(a, b)`` or ``(b, a)`` for item ``i`` (always the same for the same seed and item)."""
        swapped = self._swapped(i)
        self.choices[i] = (1, 0) if swapped else (0, 1)
        return (b, a) if swapped else (a, b)

    def _order(self, i: Item) -> tuple[int, int]:
        if i not in self.choices:
            raise NotFound(f"item {i!r} was never randomized; call randomize({i!r}, a, b) first")
        return self.choices[i]

    def derandomize(self, i: Item, a: Any, b: Any) -> tuple[Any, Any]:
        """Put the pair shown for item ``i`` back in its real order."""
        return (a, b) if self._order(i) == (0, 1) else (b, a)

    def derandomize_name(self, i: Item, blind_name: str) -> str:
        """The real name of the option the judge called ``blind_name`` for item ``i``.

        Raises:
            NotFound: item ``i`` was never randomized.
            InvalidArgument: ``blind_name`` is neither blind name nor a pass-through name.
        """
        swapped = self._order(i) == (1, 0)
        if blind_name == self.blind_name_a:
            return self.real_name_2 if swapped else self.real_name_1
        if blind_name == self.blind_name_b:
            return self.real_name_1 if swapped else self.real_name_2
        if blind_name in self.passtrough_name:
            return blind_name
        allowed = [self.blind_name_a, self.blind_name_b, *self.passtrough_name]
        raise InvalidArgument(f"choice {blind_name!r} for item {i!r} is not one of {allowed}")

    def to_dict(self) -> dict[str, Any]:
        """The settings and the choices made so far, as JSON-ready data (see :meth:`from_dict`).

        Example:
            >>> r = ABRandomizer(random_seed=1)
            >>> _ = r.randomize(3, "x", "y")
            >>> ABRandomizer.from_dict(r.to_dict()).derandomize(3, *r.randomize(3, "x", "y"))
            ('x', 'y')
        """
        return {"real_name_1": self.real_name_1, "real_name_2": self.real_name_2,
                "blind_name_a": self.blind_name_a, "blind_name_b": self.blind_name_b,
                "passtrough_name": list(self.passtrough_name), "random_seed": self.random_seed,
                "choices": [[i, list(order)] for i, order in self.choices.items()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ABRandomizer:
        """A randomizer with the settings and choices of :meth:`to_dict`.

        Raises:
            InvalidArgument: a stored choice is neither ``[0, 1]`` nor ``[1, 0]``.
        """
        made = cls(**{k: v for k, v in data.items() if k != "choices"})
        for i, order in data.get("choices", []):
            if tuple(order) not in ((0, 1), (1, 0)):
                raise InvalidArgument(f"choice of item {i!r} must be [0, 1] or [1, 0], got {order!r}")
            made.choices[i] = (int(order[0]), int(order[1]))
        return made


__all__ = ["ABRandomizer"]
