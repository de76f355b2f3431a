"""The tinytroupe error hierarchy.

Every error a user can meet derives from :class:`TinyTroupeError`, and every message says what went
wrong, where, and how to fix it::

    TinyTroupeError
    ├── InvalidArgument          a bad argument value (also a ValueError)
    │   ├── DataFileError        a bad data file (CSV of real answers): names file, row and field
    │   ├── ImageError           an image that cannot be used (not an image, unsupported, too large): names it
    │   └── DocumentError        a document that cannot be read or ingested: names the file (and what was skipped)
    ├── InvalidArgumentType      an argument of the wrong type (also a TypeError)
    ├── NotFound                 no such name: agent, subscription, example (also a KeyError)
    ├── InvalidState             a call at the wrong moment, e.g. before start (also a RuntimeError)
    ├── ConfigError              a bad configuration file, variable or argument
    ├── LLMError                 anything about talking to a language model (carries agent, world, purpose)
    │   ├── LLMTransportError    the server could not be reached, or answered with an error status
    │   │   └── LLMRateLimitError   the server said "too many requests" (HTTP 429) until we gave up
    │   ├── LLMOutputError       the model answered, but not with what was asked for (carries raw text)
    │   └── BudgetExceeded       a call was refused: it could take the run past its budget (carries what was spent)
    ├── ScenarioError            a bad scenario or persona file
    ├── StorageError             a file we keep (response cache, run file) could not be read or written
    │   └── CheckpointError      a stored checkpoint is damaged (names an intact earlier one)
    ├── SimulationError          an agent turn, a world step or a run failed
    │   ├── ExtractionError      some agents' results could not be extracted (the others are kept)
    │   ├── PopulationGenerationError  some people of a population could not be generated (the others are kept)
    │   └── PoorQualityActionError  no attempt at a turn's actions passed the quality checks
    └── ToolError                a tool call failed (carries tool, action and agent)
        ├── ToolArgumentError    the arguments do not fit the tool's schema (also an InvalidArgument)
        ├── ToolPermissionError  the call is not allowed: not the owner, or real-world side effects not allowed
        └── ToolExecutionError   the tool ran and raised, or ran past its time limit

The four usage errors are also the builtin exception Python code expects in their place, so
``except ValueError`` (or ``pytest.raises(KeyError)``) keeps working, and ``except TinyTroupeError``
catches everything tinytroupe raises on purpose. Builtin exceptions that still escape are bugs, except
``NotImplementedError`` from abstract methods and ``AssertionError`` from broken internal invariants.

Example:
    >>> from tinytroupe.errors import TinyTroupeError, ConfigError, InvalidArgument
    >>> issubclass(ConfigError, TinyTroupeError)
    True
    >>> issubclass(InvalidArgument, ValueError) and issubclass(InvalidArgument, TinyTroupeError)
    True
"""

# layout: the whole error tree is one module on purpose (one place to read it, as httpx's _exceptions.py)
from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple


class TinyTroupeError(Exception):
    """Base class of every error raised on purpose by tinytroupe."""


class InvalidArgument(TinyTroupeError, ValueError):
    """An argument's value is not allowed (a negative size, an unknown option, a duplicate name).

    Example:
        >>> try:
        ...     raise InvalidArgument("steps must be a non-negative integer, got -1")
        ... except ValueError as exc:
        ...     print(exc)
        steps must be a non-negative integer, got -1
    """


class DataFileError(InvalidArgument):
    """A data file (a CSV of real answers or option shares) has a bad value, column or shape.

    ``path`` is the file, ``row`` the 1-based line of the file (the header is line 1; None when the
    problem is the whole file) and ``field`` the column; the message repeats all three.

    Example:
        >>> err = DataFileError("answer 'Maybe' is not an option", path="poll.csv", row=3, field="answer")
        >>> str(err)
        "poll.csv, row 3, field 'answer': answer 'Maybe' is not an option"
        >>> isinstance(err, ValueError)
        True
    """

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        where = ", ".join(part for part in (path, f"row {row}" if row is not None else None,
                                            f"field {field!r}" if field is not None else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.row = row
        self.field = field
        self.detail = message

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only arguments: rebuild from the parts, not from the formatted message
        return (_rebuild_data_file_error, (self.detail, self.path, self.row, self.field))


def _rebuild_data_file_error(message: str, path: str | None, row: int | None, field: str | None) -> DataFileError:
    return DataFileError(message, path=path, row=row, field=field)


class ImageError(InvalidArgument):
    """An image given to an agent cannot be used. ``source`` names it (a file, a URL, or "bytes"),
    ``reason`` says why in one word: ``missing``, ``not_an_image``, ``unsupported_format``,
    ``too_large`` (bytes), ``too_many_pixels``, ``url_refused``, ``url_failed`` or ``no_description``.

    Example:
        >>> err = ImageError("not an image (cannot be decoded)", source="cat.png", reason="not_an_image")
        >>> str(err), isinstance(err, ValueError)
        ('cat.png: not an image (cannot be decoded)', True)
    """

    def __init__(self, message: str, *, source: str, reason: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = reason
        self.detail = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_image_error, (self.detail, self.source, self.reason))


def _rebuild_image_error(message: str, source: str, reason: str) -> ImageError:
    return ImageError(message, source=source, reason=reason)
class DocumentError(InvalidArgument):
    """A document cannot be read or ingested: missing, too large, of an unsupported kind, damaged, or a
    folder with nothing readable in it.

    ``path`` is the file (or folder); ``skipped`` lists ``(file, reason)`` for the files of a folder
    that were left out. What was ingested before the error stays ingested.

    Example:
        >>> err = DocumentError("not a readable PDF", path="docs/broken.pdf")
        >>> str(err), isinstance(err, ValueError)
        ('docs/broken.pdf: not a readable PDF', True)
    """

    def __init__(self, message: str, *, path: str | None = None,
                 skipped: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message
        self.skipped = list(skipped)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_document_error, (self.detail, self.path, self.skipped))


def _rebuild_document_error(message: str, path: str | None, skipped: list[tuple[str, str]]) -> DocumentError:
    return DocumentError(message, path=path, skipped=skipped)


class InvalidArgumentType(TinyTroupeError, TypeError):
    """An argument has the wrong type (a string where a list of strings is needed, ...)."""


class NotFound(TinyTroupeError, KeyError):
    """Nothing has the name or token asked for. Also a :class:`KeyError`, so ``except KeyError`` works.

    Example:
        >>> str(NotFound("no agent named 'Bo'"))
        "no agent named 'Bo'"
    """

    def __str__(self) -> str:
        # KeyError would show the repr of the whole message; show it as written.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class InvalidState(TinyTroupeError, RuntimeError):
    """A call that cannot be made now (a store not started, a server not running, a sync call on the
    event loop that would have to run it)."""


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
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.line = line  # in the file ``source``, when the problem is in a file
        self.section = section
        self.key = key


class LLMError(TinyTroupeError):
    """A call to a language model failed.

    ``agent``, ``world`` and ``purpose`` say which call it was (as the call's
    :class:`~tinytroupe.llm.types.CallContext` gave them); they are None where the error was raised
    outside such a call (an embedder) and are filled in by :class:`~tinytroupe.llm.client.LLMClient`.

    Example:
        >>> err = LLMError("no answer").with_call(agent="Ana", world="Cafe", purpose="action")
        >>> (err.agent, err.world, err.purpose)
        ('Ana', 'Cafe', 'action')
    """

    agent: str | None = None
    world: str | None = None
    purpose: str | None = None

    def with_call(self, *, agent: str | None = None, world: str | None = None,
                  purpose: str | None = None) -> LLMError:
        """Fill in the call's agent, world and purpose where still unknown; returns ``self``."""
        # Filled after construction (not __init__ arguments) so every subclass keeps its signature,
        # and copies and pickles carry them in __dict__ like any other attribute.
        if self.agent is None:
            self.agent = agent
        if self.world is None:
            self.world = world
        if self.purpose is None:
            self.purpose = purpose
        return self


class LLMTransportError(LLMError):
    """The model server was unreachable, timed out, or answered with an error status.

    ``status_code`` is the HTTP status when there was one; ``retryable`` says whether trying again
    could help (timeouts, connection errors, 429 and 5xx) or not (400, 401, 403, 404). ``kind`` names
    the failure when known (``timeout``, ``connection``, ``rate_limit``, ``server``, ``auth``,
    ``not_found``, ``rejected``, ``garbled``, ``unusable``): adaptive concurrency backs off on
    ``timeout``, HTTP 429 and 503.
    """

    def __init__(self, message: str, *, status_code: int | None = None, retryable: bool = False,
                 retry_after: float | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after
        self.kind = kind


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


class BudgetExceeded(LLMError):
    """A call was refused before it was made: with it, the run could pass its budget.

    Raised by :class:`~tinytroupe.llm.budget.BudgetWrapper` *before* the call reaches the model, so
    nothing was paid for it. ``limit`` names the limit (``"cost"``, ``"calls"`` or ``"tokens"``),
    ``spent`` what the run had used when it stopped (``calls``, ``prompt_tokens``,
    ``completion_tokens``, ``cost_usd``; the cost None when no price is known).

    Example:
        >>> err = BudgetExceeded("budget of 10 calls reached", limit="calls", spent={"calls": 10})
        >>> err.limit, err.spent["calls"], isinstance(err, LLMError)
        ('calls', 10, True)
    """

    def __init__(self, message: str, *, limit: str, spent: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.spent = dict(spent or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # executors ship errors between processes; keyword-only arguments need this
        return (_rebuild_budget_exceeded, (str(self), self.limit, self.spent, self.__dict__))


def _rebuild_budget_exceeded(message: str, limit: str, spent: dict[str, Any],
                             state: dict[str, Any]) -> BudgetExceeded:
    err = BudgetExceeded(message, limit=limit, spent=spent)
    err.__dict__.update(state)
    return err


class ScenarioError(TinyTroupeError):
    """A scenario, persona or fragment file is invalid. The message names the file, line and field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.field = field


class StorageError(TinyTroupeError):
    """A file tinytroupe keeps (the response cache, a run file) could not be read or written.

    ``cause_kind`` names the cause so that callers and advice can match it: ``"disk_full"``,
    ``"read_only"``, ``"locked"``, ``"corrupt"`` or ``"other"``; ``path`` is the file concerned.
    """

    def __init__(self, message: str, *, path: str | None = None, cause_kind: str = "other") -> None:
        super().__init__(message)
        self.path = path
        self.cause_kind = cause_kind


class CheckpointError(StorageError):
    """A stored checkpoint cannot be decoded (its bytes are damaged), so it cannot be restored.

    ``checkpoint_id`` is the damaged one; ``previous_id`` an older intact checkpoint of the same
    simulation that can be restored instead, or None when none is kept.
    """

    def __init__(self, message: str, *, path: str | None = None, checkpoint_id: int | None = None,
                 previous_id: int | None = None) -> None:
        super().__init__(message, path=path, cause_kind="corrupt")
        self.checkpoint_id = checkpoint_id
        self.previous_id = previous_id


class SimulationError(TinyTroupeError):
    """An agent turn, a world step or a simulation run failed."""

    def __init__(self, message: str, *, agent: str | None = None, step: int | None = None) -> None:
        super().__init__(message)
        self.agent = agent
        self.step = step


class ExtractionError(SimulationError):
    """Results could not be extracted for some agents; those that could are kept, not discarded.

    ``results`` maps each agent that answered to its validated fields; ``failures`` maps each agent
    that did not to ``"ErrorType: message"``. Nothing is invented for a failed agent.

    Example:
        >>> err = ExtractionError({"Ana": {"rating": 7}}, {"Bo": "LLMOutputError: cut off"})
        >>> str(err).splitlines()[0]
        'results for 1 of 2 agents could not be extracted (Bo); the other 1 are in .results'
    """

    def __init__(self, results: dict[str, dict[str, Any]], failures: dict[str, str]) -> None:
        names = ", ".join(list(failures)[:5]) + (", ..." if len(failures) > 5 else "")
        lines = [f"results for {len(failures)} of {len(failures) + len(results)} agents could not be extracted "
                 f"({names}); the other {len(results)} are in .results"]
        lines += [f"  {name}: {why}" for name, why in list(failures.items())[:10]]
        super().__init__("\n".join(lines))
        self.results = results
        self.failures = failures

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.results, self.failures))


class PoorQualityActionError(SimulationError):
    """No attempt at an agent's actions passed the action quality checks, and ``[ActionGenerator]
    CONTINUE_ON_FAILURE`` is off: the turn fails with nothing committed (TinyTroupe's
    ``PoorQualityActionException``, which is the same class).

    ``scores`` holds, per attempt in order, each check's score (0-9).

    Example:
        >>> err = PoorQualityActionError("Ana", [{"persona_adherence": 2}, {"persona_adherence": 3}], 5)
        >>> str(err).splitlines()[0]
        "Ana: none of 2 attempts at the turn's actions passed the quality checks (threshold 5)"
        >>> err.scores[1]
        {'persona_adherence': 3}
    """

    def __init__(self, agent: str, scores: Sequence[dict[str, int]], threshold: int, step: int | None = None) -> None:
        lines = [f"{agent}: none of {len(scores)} attempts at the turn's actions passed the quality checks "
                 f"(threshold {threshold})"]
        lines += [f"  attempt {i + 1}: " + ", ".join(f"{k}={v}" for k, v in s.items()) for i, s in enumerate(scores)]
        lines.append("Lower [ActionGenerator] QUALITY_THRESHOLD, raise MAX_ATTEMPTS, or turn CONTINUE_ON_FAILURE on "
                     "to keep the best attempt.")
        super().__init__("\n".join(lines), agent=agent, step=step)
        self.scores = [dict(s) for s in scores]
        self.threshold = threshold

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.agent, self.scores, self.threshold, self.step))


#: TinyTroupe's name for :class:`PoorQualityActionError`
PoorQualityActionException = PoorQualityActionError


class PersonFailure(NamedTuple):
    """One person a factory could not generate: where in the request, what was drawn for it, and why."""

    position: int
    characteristics: dict[str, Any]
    error: BaseException


class PopulationGenerationError(SimulationError):
    """Some people of a population could not be generated; those that could are kept, not discarded.

    ``people`` holds the people generated (in the order they were asked for); ``failures`` one entry
    per person that could not be had: its position in the request, the characteristics drawn for it
    and the error (an :class:`LLMOutputError` carries the model's raw answer). Nothing is invented for
    a failed person: no half-filled persona stands in for it.

    Example:
        >>> failed = PersonFailure(1, {"sex": "male"}, LLMOutputError("bad", raw_text="{"))
        >>> err = PopulationGenerationError(["Ana"], [failed])
        >>> str(err).splitlines()[0]
        '1 of 2 people could not be generated; the other 1 are in .people'
    """

    def __init__(self, people: Sequence[Any], failures: Sequence[PersonFailure]) -> None:
        lines = [f"{len(failures)} of {len(failures) + len(people)} people could not be generated; "
                 f"the other {len(people)} are in .people"]
        for position, _, error in list(failures)[:10]:
            first = str(error).splitlines()[0] if str(error) else ""
            lines.append(f"  person {position}: {type(error).__name__}: {first}")
        super().__init__("\n".join(lines))
        #: the people generated (TinyPerson objects), in the order they were asked for
        self.people = list(people)
        #: one :class:`PersonFailure` (position in the request, characteristics drawn, error) per person
        self.failures = [PersonFailure(*f) for f in failures]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.people, self.failures))


class ToolError(TinyTroupeError):
    """A tool call failed. ``tool`` and ``action`` name the call, ``agent`` who made it (None outside a turn).

    Inside a turn a tool error never fails the turn: the agent perceives it as an observation and
    an event is published. Called directly (``await tool.acall(...)``) it is raised.

    Example:
        >>> err = ToolExecutionError("disk full", tool="word_processor", action="WRITE_DOCUMENT", agent="Lisa")
        >>> str(err)
        'word_processor.WRITE_DOCUMENT (Lisa): disk full'
    """

    def __init__(self, message: str, *, tool: str | None = None, action: str | None = None,
                 agent: str | None = None) -> None:
        where = ".".join(part for part in (tool, action) if part)
        if where and agent:
            where += f" ({agent})"
        super().__init__(f"{where}: {message}" if where else message)
        self.tool = tool
        self.action = action
        self.agent = agent
        self.detail = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_tool_error, (type(self), self.detail, self.tool, self.action, self.agent))


def _rebuild_tool_error(cls: type[ToolError], message: str, tool: str | None, action: str | None,
                        agent: str | None) -> ToolError:
    return cls(message, tool=tool, action=action, agent=agent)


class ToolArgumentError(ToolError, InvalidArgument):
    """A tool call's arguments do not fit its schema (the message lists each bad field and why)."""


class ToolPermissionError(ToolError):
    """A tool call is not allowed: the agent does not own the tool, or the tool has real-world side
    effects and they were not allowed (``TinyToolUse(..., allow_side_effects=True)``)."""


class ToolExecutionError(ToolError):
    """A tool ran and raised, or ran past its time limit (the cause is chained)."""


__all__ = [
    "BudgetExceeded",
    "CheckpointError",
    "ConfigError",
    "DataFileError",
    "DocumentError",
    "ExtractionError",
    "ImageError",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidState",
    "LLMError",
    "LLMOutputError",
    "LLMRateLimitError",
    "LLMTransportError",
    "NotFound",
    "PersonFailure",
    "PoorQualityActionError",
    "PoorQualityActionException",
    "PopulationGenerationError",
    "ScenarioError",
    "SimulationError",
    "StorageError",
    "TinyTroupeError",
    "ToolArgumentError",
    "ToolError",
    "ToolExecutionError",
    "ToolPermissionError",
]
