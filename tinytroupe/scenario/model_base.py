"""The parts every scenario model shares: strictness, non-empty text, simulated datetimes, located
problems (so the loader can point at the exact line of a model's own check), and the size limits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Strict

from tinytroupe.errors import InvalidArgument
from tinytroupe.scenario.tools import StrictModel


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _not_a_number(value: Any) -> Any:
    # pydantic would read 0 as 1970-01-01 UTC (seconds since the epoch) and true as 1 second: nobody
    # writes a start time that way on purpose.
    if isinstance(value, bool | int | float):
        raise ValueError("write a date and time such as 2025-01-06T10:00:00, not a number")
    return value


def _a_url(value: str) -> str:
    # The OpenAI client refuses a base URL without a scheme only when the first call is made.
    if not value.startswith(("http://", "https://")):
        raise InvalidArgument("write a URL that starts with http:// or https://, e.g. http://127.0.0.1:8000/v1")
    return value


#: text that must say something: names, references, broadcasts (an empty one is never meant)
NonEmpty = Annotated[str, AfterValidator(_not_blank)]
#: a start time: a YAML timestamp or an ISO text, never a number
SimDatetime = Annotated[datetime, BeforeValidator(_not_a_number), Strict(False)]

#: one simulated step may stand for at most a century (timedelta itself overflows near 2.7 million years)
MAX_MINUTES_PER_STEP = 100 * 366 * 24 * 60
#: fields one extraction may ask for
MAX_EXTRACTION_FIELDS = 100
# Problems reported at once; past that, the rest are counted, not listed (a 10,000-item list of bad
# values would otherwise make a 10,000-line message).
_MAX_REPORTED = 20

Loc = tuple[int | str, ...]


class _Located(ValueError):
    """Problems a model's own check found, each at a location below the model, so that the loader
    can point at the exact line. pydantic keeps the exception in the error's ``ctx``."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        loc, first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__((f"{'.'.join(map(str, loc))}: " if loc else "") + first + more)
        self.problems = problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


class _Strict(StrictModel):
    """Every scenario model: strict, no unknown fields, no Infinity or NaN."""


__all__ = ["MAX_EXTRACTION_FIELDS", "MAX_MINUTES_PER_STEP", "Loc", "NonEmpty", "SimDatetime"]
