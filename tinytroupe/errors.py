"""The tinytroupe error hierarchy.

Every error a user can meet derives from :class:`TinyTroupeError`, and every message says what went
wrong, where, and how to fix it::

    TinyTroupeError
    ├── ConfigError              a bad configuration file, variable or argument
    ├── LLMError                 anything about talking to a language model
    │   ├── LLMTransportError    the server could not be reached, or answered with an error status
    │   │   └── LLMRateLimitError   the server said "too many requests" (HTTP 429) until we gave up
    │   └── LLMOutputError       the model answered, but not with what was asked for (carries raw text)
    ├── ScenarioError            a bad scenario or persona file
    └── SimulationError          an agent turn, a world step or a run failed

Example:
    >>> from tinytroupe.errors import TinyTroupeError, ConfigError
    >>> issubclass(ConfigError, TinyTroupeError)
    True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any


class TinyTroupeError(Exception):
    """Base class of every error raised on purpose by tinytroupe."""


class ConfigError(TinyTroupeError):
    """A configuration value, key or file is wrong.

    Attributes name where the problem is so that tools can point at it.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        section: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.section = section
        self.key = key


class LLMError(TinyTroupeError):
    """A call to a language model failed."""


class LLMTransportError(LLMError):
    """The model server was unreachable, timed out, or answered with an error status.

    ``status_code`` is the HTTP status when there was one; ``retryable`` says whether trying again
    could help (timeouts, connection errors, 429 and 5xx) or not (400, 401, 403, 404).
    """

    def __init__(self, message: str, *, status_code: int | None = None, retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after


class LLMRateLimitError(LLMTransportError):
    """The server kept answering HTTP 429 (too many requests)."""


class LLMOutputError(LLMError):
    """The model answered, but the answer could not be turned into what was asked for.

    ``raw_text`` holds the model's last answer verbatim, ``errors`` the validation problems found,
    and ``attempts`` how many answers were tried (the first one plus re-asks).
    """

    def __init__(self, message: str, *, raw_text: str, errors: Sequence[str] = (), attempts: int = 1) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.errors = list(errors)
        self.attempts = attempts

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions copy and pickle as ``cls(*args)``; ``raw_text`` is a required keyword, so pass it
        # explicitly (records of failed turns are copied, and cross process boundaries in executors).
        return (functools.partial(type(self), raw_text=self.raw_text), self.args, self.__dict__)

    def __str__(self) -> str:
        raw = self.raw_text if len(self.raw_text) <= 2000 else self.raw_text[:2000] + " …(truncated)"
        problems = "\n".join(f"  - {e}" for e in self.errors[:10])
        return f"{self.args[0]}\nProblems:\n{problems}\nRaw answer ({len(self.raw_text)} chars):\n{raw}"


class ScenarioError(TinyTroupeError):
    """A scenario, persona or fragment file is invalid. The message names the file, line and field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.field = field


class SimulationError(TinyTroupeError):
    """An agent turn, a world step or a simulation run failed."""

    def __init__(self, message: str, *, agent: str | None = None, step: int | None = None) -> None:
        super().__init__(message)
        self.agent = agent
        self.step = step


__all__ = [
    "ConfigError",
    "LLMError",
    "LLMOutputError",
    "LLMRateLimitError",
    "LLMTransportError",
    "ScenarioError",
    "SimulationError",
    "TinyTroupeError",
]
