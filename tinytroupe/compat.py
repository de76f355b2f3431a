"""Helpers for TinyTroupe-compatible signatures: arguments accepted for compatibility that do nothing here.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ignored_argument("TinyPerson.minibio", "requirements", "the biography is built without an LLM call")
    >>> print(caught[0].message)
    TinyPerson.minibio(requirements=...) has no effect in tinytroupe: the biography is built without an LLM call
"""

from __future__ import annotations

import warnings

from tinytroupe.config import TinyTroupeCompatibilityWarning


def ignored_argument(api: str, argument: str, why: str, *, stacklevel: int = 3) -> None:
    """Warn that ``argument`` of ``api`` was accepted but has no effect, and why.

    Python's default warning filter shows each such warning once per calling line, so a loop does not
    repeat it. ``stacklevel`` counts from the caller of this helper (3: the user's line calling ``api``).
    """
    warnings.warn(f"{api}({argument}=...) has no effect in tinytroupe: {why}", TinyTroupeCompatibilityWarning,
                  stacklevel=stacklevel)


__all__ = ["TinyTroupeCompatibilityWarning", "ignored_argument"]
