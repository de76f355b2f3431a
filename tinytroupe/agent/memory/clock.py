"""How prompts show a simulated time: ``YYYY-MM-DD HH:MM`` (a memory line's prefix, the turn's clock)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache


def clock_text(sim_time: datetime) -> str:
    """``YYYY-MM-DD HH:MM``: how prompts show a simulated time (a memory line's prefix, the turn's clock)."""
    if sim_time.tzinfo is None:
        return _naive_clock_text(sim_time)
    # Not cached: aware times of one instant in different zones are equal but read differently.
    return f"{sim_time:%Y-%m-%d %H:%M}"


@lru_cache(maxsize=1024)
def _naive_clock_text(sim_time: datetime) -> str:
    # strftime is most of the cost of a prompt line, and the items and agents of a step share their time.
    return f"{sim_time:%Y-%m-%d %H:%M}"


__all__ = ["clock_text"]
