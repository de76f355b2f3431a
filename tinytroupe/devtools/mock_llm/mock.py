"""The mock LLM of a test: rules, a cassette and a fallback behind one scripted backend, and what was asked.

:class:`MockLLM` answers each request from the first source that has an answer:

1. its rules (:meth:`MockLLM.respond`; the rule added last is tried first, so a test can override
   what a shared fixture set up);
2. its cassette (:meth:`MockLLM.use_cassette`), recording from the real backend when the record mode
   says so; a request the cassette cannot answer is a :class:`~.cassette.CassetteMiss`;
3. the fallback: a valid answer built from the request's schema (seeded, see
   :class:`~tinytroupe.llm.demo.SchemaFiller`), or with ``strict=True`` an error.

In *live* mode every request goes to the real backend instead (rules and cassette are ignored), so
a suite written against the mock can be run against a real model unchanged; what was asked is still
recorded for the assertions.

:meth:`MockLLM.install` makes it the LLM of every world and agent made inside the block (through
:func:`~tinytroupe.context.using_context`: no global is replaced). :meth:`MockLLM.problems` lists
what went wrong that a world may have turned into an error event (a cassette miss, an unmatched
request in strict mode); the pytest fixture fails the test with them.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> mock = MockLLM(seed=1)
    >>> _ = mock.respond({"actions": [{"type": "TALK", "content": "Hi, I am {agent}."}]}, purpose="action")
    >>> with mock.install():
    ...     ana = TinyPerson("Ana")
    ...     ana.listen_and_act("Who are you?", communication_display=False)
    >>> [a.content for a in ana.pop_latest_actions() if a.type == "TALK"]
    ['Hi, I am Ana.']
    >>> len(mock.assert_asked(purpose="action", agent="Ana", contains="Who are you?"))
    1
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from tinytroupe.aio import run_sync
from tinytroupe.context import RunContext, using_context
from tinytroupe.devtools.mock_llm.asked import AskedRequest, describe_requests, select
from tinytroupe.devtools.mock_llm.cassette import Cassette, check_record_mode, request_key
from tinytroupe.devtools.mock_llm.templates import Rule, compile_prompt, fill
from tinytroupe.errors import InvalidArgument, InvalidState, LLMTransportError
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.demo import SchemaFiller
from tinytroupe.llm.scripted import Reply, ScriptedBackend
from tinytroupe.llm.types import CallContext, Completion, FirstTokenLogprobs, LLMRequest

RealBackend = Backend | Callable[[], Backend]
#: the simulated clock's default start under a mock (a Monday morning)
CLOCK_START = datetime(2025, 1, 6, 9, 0)

# The caller's context, handed from generate() to the responder (ScriptedBackend gives it only the request).
_CALL: contextvars.ContextVar[CallContext] = contextvars.ContextVar("tinytroupe_mock_llm_call")


class MockBackend(ScriptedBackend):
    """The scripted backend a :class:`MockLLM` answers through (it sees who asks, not only what)."""

    def __init__(self, mock: MockLLM, latency_s: float = 0.0) -> None:
        super().__init__(self._respond, latency_s=latency_s, model="mock-llm")
        self._mock = mock

    async def generate(self, request: LLMRequest, context: CallContext) -> Completion:
        token = _CALL.set(context)
        try:
            return await super().generate(request, context)
        finally:
            _CALL.reset(token)

    async def _respond(self, request: LLMRequest) -> Reply:
        return await self._mock._answer(request, _CALL.get())

    @property
    def prompt_token_hint(self) -> int | None:
        # Only live: a cassette must see the prompts it will be replayed with, whoever recorded it.
        return self._mock._real().prompt_token_hint if self._mock.live else None


class MockLLM:
    """A scripted LLM for one test: response templates, a cassette, seeded variation, assertions.

    Args:
        seed: seeds the variation (template choices, placeholders, fallback answers) and the run
            context's seed (worlds' agent order).
        strict: a request no rule or cassette answers is an error (default: the seeded fallback).
        real_backend: the backend a cassette records from and live mode talks to (or a function
            building it, called on first need).
        live: send every request to the real backend (rules and cassettes are ignored).
        latency_s: seconds every scripted answer waits, to imitate a server.
        clock_start: where the simulated clock of worlds given no ``initial_datetime`` starts (a
            fixed day by default: prompts show the time, and a cassette recorded on one day must
            match the prompts of the next).
    """

    def __init__(self, *, seed: int = 0, strict: bool = False, real_backend: RealBackend | None = None,
                 live: bool = False, latency_s: float = 0.0, clock_start: datetime = CLOCK_START) -> None:
        self.seed = seed
        self.strict = strict
        self.live = live
        self._real_source = real_backend
        self._real_backend: Backend | None = None
        self._rules: list[Rule] = []
        self._cassette: Cassette | None = None
        self._cassette_mode = "replay"
        self._asked: list[AskedRequest] = []
        self._problems: list[str] = []
        self._lock = threading.Lock()
        self._filler = SchemaFiller(seed=seed)
        self.backend = MockBackend(self, latency_s=latency_s)
        self.client = LLMClient(self.backend)
        self.context = RunContext.for_client(self.client, seed=seed, clock_start=clock_start)

    # ------------------------------------------------------------------ scripting

    def respond(self, *replies: Any, purpose: str | None = None, agent: str | None = None,
                prompt: str | re.Pattern[str] | None = None, schema: str | None = None, choose: bool = False,
                cycle: bool = False, times: int | None = None) -> Rule:
        """Answer the requests that match with ``replies`` (see :class:`~.templates.Rule`); returns the rule.

        ``purpose``: the request's purpose (``action``, ``extraction``, ...); ``agent``: who asks;
        ``prompt``: a regular expression searched in the newest part of the last user message;
        ``schema``: the answer's schema name (``ActionTurn``). Replies are strings, dicts, lists or
        pydantic objects (placeholders filled), exceptions to raise, or whole completions.

        Raises:
            InvalidArgument: no reply, a bad placeholder or pattern, ``times`` below 1.
        """
        rule = Rule(replies=replies, purpose=purpose, agent=agent, prompt=compile_prompt(prompt), schema=schema,
                    choose=choose, cycle=cycle, times=times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def use_cassette(self, path: str | Path, record: str = "once") -> Cassette:
        """Answer from the cassette at ``path``, recording into it as ``record`` says.

        ``none``: replay only; ``once``: record everything when the file does not exist yet, else
        replay only; ``new_episodes``: replay, and record what the cassette lacks; ``all``: record
        everything again. Recorded answers are written by :meth:`finish`.

        Raises:
            InvalidArgument: an unknown record mode, or a file that is not a cassette.
        """
        check_record_mode(record)
        cassette = Cassette(path)
        existed = cassette.path.exists()
        if record == "all":
            cassette.forget()
        # "record": every request goes to the real backend; "fill": recorded answers first, then the
        # real backend for what the cassette lacks; "replay": the cassette alone
        recording = record == "all" or (record == "once" and not existed)
        self._cassette_mode = "record" if recording else "fill" if record == "new_episodes" else "replay"
        self._cassette = cassette
        return cassette

    @contextmanager
    def install(self) -> Iterator[MockLLM]:
        """Make this mock the LLM of every world and agent made inside the block (and the simulations'
        code that asks for the current client)."""
        with using_context(self.context):
            yield self

    # ------------------------------------------------------------------ answering

    def _real(self) -> Backend:
        with self._lock:
            if self._real_backend is None:
                source = self._real_source
                if source is None:
                    raise InvalidState("recording a cassette or running live needs a real backend: pass "
                                       "real_backend= (or override the mock_llm_real_backend fixture)")
                self._real_backend = source if isinstance(source, Backend) else source()
                if not isinstance(self._real_backend, Backend):
                    raise InvalidArgument(f"real_backend gave {type(self._real_backend).__name__}, not a Backend")
            return self._real_backend

    def _note(self, request: LLMRequest, context: CallContext, source: str) -> None:
        with self._lock:
            self._asked.append(AskedRequest.of(request, context, source))

    def _fail(self, request: LLMRequest, context: CallContext, error: LLMTransportError) -> LLMTransportError:
        self._note(request, context, "unanswered")
        with self._lock:
            self._problems.append(str(error))
        return error

    async def _answer(self, request: LLMRequest, context: CallContext) -> Reply:
        if self.live:
            self._note(request, context, "live")
            return await self._real().generate(request, context)
        rng = random.Random(hashlib.sha256(f"{self.seed}:{request_key(request)}".encode()).digest())
        for rule in reversed(self._rules):
            taken, reply = rule.take(request, context, rng)
            if taken:
                self._note(request, context, f"rule {rule.describe()}")
                if isinstance(reply, Exception | Completion | FirstTokenLogprobs):
                    return reply
                filled = fill(reply, rng, {"agent": context.agent or "", "purpose": context.purpose,
                                           "world": context.world or ""})
                # a reply that is only {int:..} is a number: its text is the number
                return filled if isinstance(filled, str | dict | list) else json.dumps(filled)
        if self._cassette is not None:
            return await self._from_cassette(self._cassette, request, context)
        if self.strict:
            raise self._fail(request, context, LLMTransportError(
                f"no mock_llm rule answers the request of purpose {context.purpose!r}"
                f"{f', agent {context.agent!r}' if context.agent else ''}"
                f"{f', schema {request.schema_name}' if request.schema_name else ''} (strict mode); add one with "
                "mock_llm.respond(..., purpose=..., agent=...)"))
        self._note(request, context, "fallback")
        return self._filler(request)

    async def _from_cassette(self, cassette: Cassette, request: LLMRequest, context: CallContext) -> Reply:
        mode = self._cassette_mode
        found = cassette.answer(request, repeat_last=mode == "replay") if mode != "record" else None
        if found is not None:
            self._note(request, context, "cassette")
            return found
        if mode == "replay":
            raise self._fail(request, context, cassette.miss(
                request, context, "Record it with --mock-llm-record=new_episodes (or =all to record the whole "
                "cassette again) against a real backend"))
        self._note(request, context, "recorded")
        completion = await self._real().generate(request, context)
        cassette.record(request, context, completion)
        return completion

    # ------------------------------------------------------------------ what was asked

    @property
    def requests(self) -> list[AskedRequest]:
        """Every request asked so far, in order."""
        with self._lock:
            return list(self._asked)

    def asked(self, *, purpose: str | None = None, agent: str | None = None, world: str | None = None,
              schema: str | None = None, contains: str | None = None,
              pattern: str | re.Pattern[str] | None = None) -> list[AskedRequest]:
        """The requests that match every given filter (``contains``: a substring of some message;
        ``pattern``: a regular expression searched in the messages)."""
        return select(self.requests, purpose=purpose, agent=agent, world=world, schema=schema, contains=contains,
                      pattern=compile_prompt(pattern))

    def assert_asked(self, *, purpose: str | None = None, agent: str | None = None, world: str | None = None,
                     schema: str | None = None, contains: str | None = None,
                     pattern: str | re.Pattern[str] | None = None, times: int | None = None) -> list[AskedRequest]:
        """The matching requests; an ``AssertionError`` listing every request when there are none (or not
        exactly ``times``)."""
        filters = {"purpose": purpose, "agent": agent, "world": world, "schema": schema, "contains": contains,
                   "pattern": pattern}
        found = self.asked(**filters)  # type: ignore[arg-type]
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = " ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None) or "any request"
            count = "at least once" if times is None else f"{times} time(s)"
            raise AssertionError(f"expected a request with {wanted} {count}, found {len(found)}; "
                                 f"what was asked:\n{describe_requests(self.requests)}")
        return found

    def assert_not_asked(self, *, purpose: str | None = None, agent: str | None = None, world: str | None = None,
                         schema: str | None = None, contains: str | None = None,
                         pattern: str | re.Pattern[str] | None = None) -> None:
        """An ``AssertionError`` listing the matching requests when there are any."""
        self.assert_asked(purpose=purpose, agent=agent, world=world, schema=schema, contains=contains,
                          pattern=pattern, times=0)

    def problems(self) -> list[str]:
        """What went wrong while answering (cassette misses, unanswered requests in strict mode)."""
        with self._lock:
            return list(self._problems)

    def finish(self) -> None:
        """Write what was recorded into the cassette and close the real backend (when one was built)."""
        if self._cassette is not None:
            self._cassette.save()
        built = self._real_backend if self._real_source is not self._real_backend else None
        if built is not None:
            run_sync(built.aclose())


__all__ = ["CLOCK_START", "MockBackend", "MockLLM", "RealBackend"]
