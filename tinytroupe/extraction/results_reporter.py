"""``ResultsReporter``: reports on a simulation, as TinyTroupe's, plus a summary that needs no LLM.

* :meth:`~ResultsReporter.report_summary` computes the results at a glance (counts and shares,
  mean, sd and a histogram per field, by segment) and the per-agent table cut to its first rows, as
  Markdown, without any model (see :mod:`tinytroupe.extraction.summary`).
* :meth:`~ResultsReporter.report_from_agents` interviews each agent (all at once) and has a model
  write up their answers; :meth:`~ResultsReporter.report_from_interactions` writes up what they did;
  :meth:`~ResultsReporter.report_from_data` writes up any text or JSON data.

Differences from TinyTroupe: a report is a validated answer (an empty or cut-off one is re-asked,
then raised as :class:`~tinytroupe.errors.LLMOutputError`); an agent whose interview failed is named
in the report and in :attr:`~ResultsReporter.agent_failures` while the others' answers are used;
what the model is shown is bounded (each person's text is cut to a share of the prompt budget, and
data too large for it is refused, not cut); no timestamp goes into the prompt (so a cached or
replayed run gives the same report); ``display_report`` and ``save_report`` without a report raise
:class:`~tinytroupe.errors.InvalidState`.

Example (no model needed):
    >>> reporter = ResultsReporter()
    >>> report = reporter.report_summary({"Ana": {"status": "ok", "rating": 8}, "Ben": {"status": "ok", "rating": 6}})
    >>> print(report.splitlines()[8])
    mean 7 · sd 1.41 · median 7 · min 6 · max 8
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from rich.console import Console
from rich.markdown import Markdown

from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.context import current_context
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import ExtractionError, InvalidArgument, InvalidArgumentType, InvalidState
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.summary import ResultsLike
from tinytroupe.extraction.summary_markdown import DEFAULT_MAX_ROWS, results_markdown
from tinytroupe.extraction.templates import render_template
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.tokens import chars_for_tokens
from tinytroupe.llm.types import Message
from tinytroupe.redaction import redact

logger = logging.getLogger(__name__)

DEFAULT_REPORTING_TASK = "Summarize the key findings, insights, and outcomes from the simulation data."
DEFAULT_REQUIREMENTS = "Present the findings in a clear, structured manner."
#: the most characters of material (answers, interactions, data) one report prompt holds
REPORT_CHAR_BUDGET = 48_000
#: each person's text gets at least this much, however many people there are
MIN_PERSON_CHARS = 300
_INTERVIEW = ("Please report on your experience in this simulation. Reporting task: {task}\n"
              "Give detailed insights, specific examples and your key findings, from your own point of view.")

AgentsLike = TinyPerson | TinyWorld | Sequence[TinyPerson]


class ReportText(BaseModel):
    """The model's answer: the whole report, in Markdown."""

    report: str = Field(description="the whole report, in Markdown, starting with the title as a level-1 heading")

    @field_validator("report")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the report is empty; write the whole report")
        return value.strip()


def _agent_list(agents: AgentsLike) -> list[TinyPerson]:
    if isinstance(agents, TinyPerson):
        return [agents]
    if isinstance(agents, TinyWorld):
        return list(agents.agents)
    if isinstance(agents, Sequence) and not isinstance(agents, str) and all(isinstance(a, TinyPerson) for a in agents):
        if not agents:
            raise InvalidArgument("no agents to report on; give at least one")
        return list(agents)
    raise InvalidArgumentType("agents must be a TinyPerson, a TinyWorld or a list of TinyPerson, got "
                              f"{type(agents).__name__}")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + f"… (cut: {len(text) - limit + 1} more characters)"


class ResultsReporter:
    """Writes reports of a simulation (TinyTroupe's ``ResultsReporter``), and its results at a glance.

    Args:
        default_reporting_task: what agents are asked when :meth:`report_from_agents` gets no task.
        verbose: log each step at INFO instead of DEBUG.
        client: the LLM client for the write-up (default: the first agent's, else the run context's).
    """

    def __init__(self, default_reporting_task: str = DEFAULT_REPORTING_TASK, verbose: bool = False, *,
                 client: LLMClient | None = None) -> None:
        self.default_reporting_task = default_reporting_task
        self.verbose = verbose
        self.client = client
        #: the latest report written (by any ``report_*`` method)
        self.last_report: str | None = None
        #: agents the latest :meth:`report_from_agents` could not interview: name -> why
        self.agent_failures: dict[str, str] = {}

    def _log(self, message: str, *args: Any) -> None:
        logger.log(logging.INFO if self.verbose else logging.DEBUG, message, *args)

    def _client(self, agents: Sequence[TinyPerson] = ()) -> LLMClient:
        if self.client is not None:
            return self.client
        return agents[0].client if agents else current_context().client

    def _budget(self, client: LLMClient) -> int:
        hint = client.prompt_token_hint
        return REPORT_CHAR_BUDGET if hint is None else min(REPORT_CHAR_BUDGET, chars_for_tokens(hint) * 2 // 3)

    def _people(self, agents: Sequence[TinyPerson], texts: Mapping[str, str], include_bio: bool,
                budget: int) -> list[dict[str, str]]:
        each = max(MIN_PERSON_CHARS, budget // max(1, len(texts)))
        return [{"name": a.name, "bio": a.minibio(extended=False) if include_bio else "",
                 "text": _cut(texts[a.name], each)} for a in agents if a.name in texts]

    async def _awrite(self, client: LLMClient, **values: Any) -> str:
        messages = [Message(role="system", content=render_template("report_system.j2")),
                    Message(role="user", content=render_template("report_user.j2", **values))]
        result = await client.acomplete(messages, response_model=ReportText, purpose="report")
        self.last_report = result.value.report
        return self.last_report

    # ------------------------------------------------------------------ from agents (interviews)

    async def _ainterview(self, agent: TinyPerson, task: str) -> str:
        agent.listen(_INTERVIEW.format(task=task), source="Reporter")
        actions = await agent.aact(return_actions=True) or []
        said = "\n".join(a.content for a in actions if a.type == "TALK" and a.content)
        return said or "(said nothing)"

    async def areport_from_agents(self, agents: AgentsLike, reporting_task: str | None = None,
                                  report_title: str = "Simulation Report", include_agent_summaries: bool = True,
                                  consolidate_responses: bool = True,
                                  requirements: str = DEFAULT_REQUIREMENTS) -> str:
        """Async twin of :meth:`report_from_agents`."""
        people = _agent_list(agents)
        task = reporting_task or self.default_reporting_task
        self._log("interviewing %d agents for a report", len(people))
        outcomes = await asyncio.gather(*(self._ainterview(a, task) for a in people), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancellation and interrupts are not an agent's failure
        answers = {a.name: o for a, o in zip(people, outcomes, strict=True) if isinstance(o, str)}
        self.agent_failures = {a.name: redact(f"{type(o).__name__}: {o}")
                               for a, o in zip(people, outcomes, strict=True) if isinstance(o, BaseException)}
        if not answers:
            raise ExtractionError({}, self.agent_failures)
        client = self._client(people)
        return await self._awrite(client, kind="agents", title=report_title, task=task,
                                  people=self._people(people, answers, include_agent_summaries, self._budget(client)),
                                  failures=self.agent_failures, consolidate=consolidate_responses,
                                  requirements=requirements)

    def report_from_agents(self, agents: AgentsLike, reporting_task: str | None = None,
                           report_title: str = "Simulation Report", include_agent_summaries: bool = True,
                           consolidate_responses: bool = True, requirements: str = DEFAULT_REQUIREMENTS) -> str:
        """Ask each agent about ``reporting_task`` (one turn each, concurrently), then have a model write
        the report from their answers (TinyTroupe's signature).

        An agent whose turn failed is named in the report (and in :attr:`agent_failures`); the others'
        answers are used.

        Raises:
            ExtractionError: no agent could be interviewed (``.failures`` says why each failed).
            LLMOutputError: the report stayed empty or cut off after the re-asks.
            InvalidArgumentType: ``agents`` is not an agent, a world or a list of agents.
        """
        return run_sync(self.areport_from_agents(agents, reporting_task, report_title, include_agent_summaries,
                                                 consolidate_responses, requirements))

    # ------------------------------------------------------------------ from interactions and data

    async def areport_from_interactions(self, agents: AgentsLike, report_title: str = "Interaction Analysis Report",
                                        include_agent_summaries: bool = True, first_n: int | None = None,
                                        last_n: int | None = None, max_content_length: int | None = None,
                                        requirements: str = DEFAULT_REQUIREMENTS) -> str:
        """Async twin of :meth:`report_from_interactions`."""
        people = _agent_list(agents)
        texts = {a.name: a.pretty_current_interactions(first_n=first_n, last_n=last_n,
                                                       max_content_length=max_content_length) for a in people}
        client = self._client(people)
        return await self._awrite(client, kind="interactions", title=report_title,
                                  people=self._people(people, texts, include_agent_summaries, self._budget(client)),
                                  requirements=requirements)

    def report_from_interactions(self, agents: AgentsLike, report_title: str = "Interaction Analysis Report",
                                 include_agent_summaries: bool = True, first_n: int | None = None,
                                 last_n: int | None = None, max_content_length: int | None = None,
                                 requirements: str = DEFAULT_REQUIREMENTS) -> str:
        """A report on what the agents did and said (their histories; TinyTroupe's signature).

        Raises:
            LLMOutputError: the report stayed empty or cut off after the re-asks.
            InvalidArgumentType: ``agents`` is not an agent, a world or a list of agents.
        """
        return run_sync(self.areport_from_interactions(agents, report_title, include_agent_summaries, first_n,
                                                       last_n, max_content_length, requirements))

    async def areport_from_data(self, data: str | Mapping[str, Any] | Sequence[Any], report_title: str = "Data Report",
                                requirements: str | None = DEFAULT_REQUIREMENTS) -> str:
        """Async twin of :meth:`report_from_data`."""
        text = data if isinstance(data, str) else json.dumps(data, indent=2, ensure_ascii=False, default=str)
        client = self._client()
        if len(text) > self._budget(client):
            raise InvalidArgument(f"the data has {len(text):,} characters, more than a report prompt holds "
                                  f"({self._budget(client):,}); summarise it first, e.g. with report_summary()")
        return await self._awrite(client, kind="data", title=report_title, data=text,
                                  requirements=requirements or "Organise the data so that it reads clearly.")

    def report_from_data(self, data: str | Mapping[str, Any] | Sequence[Any], report_title: str = "Data Report",
                         requirements: str | None = DEFAULT_REQUIREMENTS) -> str:
        """A report written from text or JSON-like data (TinyTroupe's signature).

        Raises:
            InvalidArgument: the data is larger than a report prompt holds (nothing is cut silently).
            LLMOutputError: the report stayed empty or cut off after the re-asks.
        """
        return run_sync(self.areport_from_data(data, report_title, requirements))

    # ------------------------------------------------------------------ at a glance (no LLM)

    def report_summary(self, data: ResultsLike, report_title: str | None = "Results at a glance",
                       fields: Mapping[str, FieldSpec | str] | Sequence[str] | None = None,
                       segment_by: str | Sequence[str] | None = None, max_rows: int | None = DEFAULT_MAX_ROWS,
                       results_file: str | None = None) -> str:
        """Results at a glance as Markdown, computed without a model: each field summarised (by segment
        with ``segment_by``), then the per-agent table cut to ``max_rows`` rows with a note of how many
        more ``results_file`` holds (see :func:`~tinytroupe.extraction.summary_markdown.results_markdown`).

        ``data`` is a results DataFrame (``ResultsExtractor.to_dataframe()``), ``{agent: row}`` or a list of rows.

        Raises:
            InvalidArgument: ``segment_by`` names no column of the results, or ``max_rows`` is below 1.
        """
        self.last_report = results_markdown(data, fields, segment_by, max_rows, report_title, results_file)
        return self.last_report

    # ------------------------------------------------------------------ output

    def _report(self, report: str | None) -> str:
        report = report if report is not None else self.last_report
        if report is None:
            raise InvalidState("no report yet: write one with a report_* method first, or pass report=")
        return report

    def display_report(self, report: str | None = None, *, console: Console | None = None) -> None:
        """Show ``report`` (default: the latest) as rendered Markdown.

        Raises:
            InvalidState: there is no report yet.
        """
        (console or Console()).print(Markdown(self._report(report)))

    def save_report(self, filename: str | Path, report: str | None = None, verbose: bool | None = None) -> None:
        """Write ``report`` (default: the latest) to ``filename`` as UTF-8 text.

        Raises:
            InvalidState: there is no report yet.
        """
        Path(filename).write_text(self._report(report), encoding="utf-8")
        if verbose if verbose is not None else self.verbose:
            logger.info("report saved to %s", filename)


__all__ = ["DEFAULT_REPORTING_TASK", "DEFAULT_REQUIREMENTS", "ReportText", "ResultsReporter"]
