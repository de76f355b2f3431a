"""``ResultsExtractor``: structured results (answers, ratings, reasons) from what agents did.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"rating": 8, "reason": "handy"}]))
    >>> ana = TinyPerson("Ana", client=client).listen("Would you buy it?", source="Host")
    >>> ex = ResultsExtractor("Ana's rating", fields={"rating": "int", "reason": "str"}, client=client)
    >>> ex.extract_results_from_agent(ana)
    {'rating': 8, 'reason': 'handy'}

A field called ``name`` (or ``agent_name``) with no hint is the agent's name: it is filled in from the
agent, not asked of the model; with a hint (``"the product's name"``) it is asked like any other field.
Results of several agents come back in the agents' order, each knowing whose it is
(:class:`AgentResults`). Agents that share a name are told apart by position: the second ``Ana`` is
keyed ``"Ana (2)"`` wherever results or failures are keyed by name (:func:`agent_keys`).

"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tinytroupe import html_views
from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import ExtractionError
from tinytroupe.extraction.fields import FieldsLike, FieldSpec, extraction_model, is_agent_name_field, normalise_fields
from tinytroupe.extraction.templates import render_template
from tinytroupe.llm.batch import batch_mode
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.tokens import chars_for_tokens
from tinytroupe.llm.types import Message
from tinytroupe.redaction import redact

DEFAULT_OBJECTIVE = "The main points present in the agents' interactions history."
RECORD_CHAR_BUDGET = 12_000


def _fit_record(text: str, budget: int = RECORD_CHAR_BUDGET) -> str:
    # Keep the newest part: survey answers come last in a transcript.
    if len(text) <= budget:
        return text
    return "(earlier events omitted)\n" + text[-budget:].split("\n", 1)[-1]


def _record_budget(client: LLMClient) -> int:
    hint = client.prompt_token_hint
    # Instructions and field list take about a third of a small model's prompt; the record gets the rest.
    return RECORD_CHAR_BUDGET if hint is None else min(RECORD_CHAR_BUDGET, chars_for_tokens(hint) * 2 // 3)


def agent_keys(names: Iterable[str]) -> list[str]:
    """One distinct key per agent, in order: its name, or for a later agent of an already-seen name
    ``"name (2)"``, ``"name (3)"``, ... (skipping any key that is another agent's own name).

    Example:
        >>> agent_keys(["Ana", "Ben", "Ana", "Ana"])
        ['Ana', 'Ben', 'Ana (2)', 'Ana (3)']
    """
    names = list(names)
    reserved = set(names)  # a real agent's name is never given to another agent
    seen: set[str] = set()
    keys: list[str] = []
    for name in names:
        key, n = name, 1
        while key in seen or (key != name and key in reserved):
            n += 1
            key = f"{name} ({n})"
        seen.add(key)
        keys.append(key)
    return keys


class AgentResults(list[dict[str, Any]]):
    """Several agents' results: a list in the agents' order (TinyTroupe's shape) that also says
    whose each result is.

    Example:
        >>> results = AgentResults([("Ana", {"rating": 8}), ("Ben", {"rating": 3})])
        >>> results[1], results.agents, results.by_agent["Ana"]
        ({'rating': 3}, ['Ana', 'Ben'], {'rating': 8})
    """

    def __init__(self, pairs: Iterable[tuple[str, dict[str, Any]]] = ()) -> None:
        pairs = list(pairs)
        super().__init__(values for _, values in pairs)
        #: the agents' names, one per result, in the same order (a shared name appears once per agent)
        self.agents: list[str] = [name for name, _ in pairs]

    @property
    def by_agent(self) -> dict[str, dict[str, Any]]:
        """``{agent key: result}``, one entry per result; agents sharing a name are keyed as
        :func:`agent_keys` says (``"Ana"``, ``"Ana (2)"``)."""
        return dict(zip(agent_keys(self.agents), self, strict=True))

    def _repr_html_(self) -> str:
        """The notebook view: one row per agent, one column per field (:func:`tinytroupe.html_views.records`)."""
        return html_views.records(agent_keys(self.agents), self)


class ResultsExtractor:
    """Extracts validated fields from an agent's or a world's history with one LLM call each.

    Args:
        extraction_objective: what to extract, in words.
        situation: context that helps interpret the record.
        fields: field names (text), or a mapping of names to types / :class:`FieldSpec` s.
        fields_hints: per-field hints for the model.
        client: the LLM client (default: the agent's or world's client).
        batch: send the calls of :meth:`extract_results_from_agents` as one provider batch (OpenAI's
            or Azure OpenAI's Batch API, about half the price; see :mod:`tinytroupe.llm.batch`). The
            client's backend must have a batch API, or the extraction raises
            :class:`~tinytroupe.errors.ConfigError` before any call.

    A text field called ``name`` or ``agent_name`` without a hint is filled with the agent's name when
    extracting from an agent: the model is not asked for what is already known (and cannot misspell
    it). Given a hint (``fields_hints={"name": "the product's name"}``) it means something else and
    is asked of the model like any other field.
    Numeric fields come back as ``int`` / ``float``; an answer that is not a number is re-asked.

    Raises:
        InvalidArgumentType: ``fields`` is a single string instead of a list of names or a mapping.
        InvalidArgument: a field name is unusable, or ``fields_hints`` names a field not asked for.
    """

    def __init__(self, extraction_objective: str = DEFAULT_OBJECTIVE, situation: str = "",
                 fields: FieldsLike | None = None, fields_hints: Mapping[str, str] | None = None,
                 verbose: bool = False, *, client: LLMClient | None = None, batch: bool = False) -> None:
        self.extraction_objective = extraction_objective
        self.batch = batch
        self.situation = situation
        self.fields = normalise_fields(fields, fields_hints)
        self.verbose = verbose
        self.client = client
        self.agent_extraction: dict[str, dict[str, Any]] = {}
        self.world_extraction: dict[str, dict[str, Any]] = {}
        #: agents whose results could not be had: name -> "ErrorType: message" (nothing invented for them)
        self.agent_failures: dict[str, str] = {}
        self._order: dict[str, None] = {}  # agents in the order their outcome was first recorded

    def _messages(self, record: str, objective: str, situation: str, fields: Mapping[str, Any],
                  client: LLMClient) -> list[Message]:
        specs = [{"name": n, "type_label": s.type_label, "hint": s.hint} for n, s in fields.items()]
        system = render_template("extract_system.j2", fields=specs)
        user = render_template("extract_user.j2", objective=objective, situation=situation,
                               record=_fit_record(record, _record_budget(client)))
        return [Message(role="system", content=system), Message(role="user", content=user)]

    def _resolve(self, objective: str | None, situation: str | None, fields: FieldsLike | None,
                 hints: Mapping[str, str] | None) -> tuple[str, str, dict[str, Any]]:
        specs = normalise_fields(fields, hints) if fields is not None else self.fields
        return (objective or self.extraction_objective, self.situation if situation is None else situation, specs)

    async def aextract_results_from_agent(self, agent: TinyPerson, extraction_objective: str | None = None,
                                          situation: str | None = None, fields: FieldsLike | None = None,
                                          fields_hints: Mapping[str, str] | None = None,
                                          verbose: bool | None = None) -> dict[str, Any]:
        """Async twin of :meth:`extract_results_from_agent` (same arguments, same errors).

        Raises:
            LLMTransportError: the model server could not be reached (the agent is marked failed).
            LLMOutputError: the answers stayed invalid after the re-asks (the agent is marked failed).
            InvalidArgument: ``fields`` or ``fields_hints`` given here are unusable.
        """
        return await self._aextract(agent, agent.name, extraction_objective, situation, fields, fields_hints)

    async def _aextract(self, agent: TinyPerson, key: str, extraction_objective: str | None,
                        situation: str | None, fields: FieldsLike | None,
                        fields_hints: Mapping[str, str] | None) -> dict[str, Any]:
        # ``key`` is where the outcome is recorded: the agent's name, or a disambiguated one (agent_keys).
        objective, sit, specs = self._resolve(extraction_objective, situation, fields, fields_hints)
        asked = {name: spec for name, spec in specs.items() if not is_agent_name_field(name, spec)}
        answer: dict[str, Any] = {}
        if asked:
            client = self.client or agent.client
            messages = self._messages(agent.pretty_current_interactions(), objective, sit, asked, client)
            world = agent.environment.name if agent.environment is not None else None
            try:
                result = await client.acomplete(messages, response_model=extraction_model(asked),
                                                purpose="extraction", agent=agent.name, world=world)
            except Exception as exc:
                self.mark_failed(key, exc)
                raise
            answer = result.value.model_dump()
        values = {name: answer[name] if name in asked else agent.name for name in specs}
        self._order.setdefault(key)
        self.agent_failures.pop(key, None)
        self.agent_extraction[key] = values
        return values

    def mark_failed(self, agent: str, error: BaseException | str) -> None:
        """Record that ``agent`` has no result, and why; any earlier result of it is dropped.

        Used for an agent whose extraction failed, or whose turn failed so that it never answered
        (extracting from its history then would invent an answer it did not give).
        """
        why = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._order.setdefault(agent)
        self.agent_extraction.pop(agent, None)
        self.agent_failures[agent] = redact(why)

    def extract_results_from_agent(self, agent: TinyPerson, extraction_objective: str | None = None,
                                   situation: str | None = None, fields: FieldsLike | None = None,
                                   fields_hints: Mapping[str, str] | None = None,
                                   verbose: bool | None = None) -> dict[str, Any]:
        """The fields, extracted from ``agent``'s history and validated.

        Raises:
            LLMTransportError: the model server could not be reached (the agent is marked failed).
            LLMOutputError: the answers stayed invalid after the re-asks (the agent is marked failed;
                nothing is invented for it).
            InvalidArgument: ``fields`` or ``fields_hints`` given here are unusable.
        """
        return run_sync(self.aextract_results_from_agent(agent, extraction_objective, situation, fields,
                                                         fields_hints))

    async def aextract_results_from_agents(self, agents: Iterable[TinyPerson],
                                           extraction_objective: str | None = None, situation: str | None = None,
                                           fields: FieldsLike | None = None,
                                           fields_hints: Mapping[str, str] | None = None,
                                           verbose: bool | None = None) -> AgentResults:
        """Async twin of :meth:`extract_results_from_agents` (all agents concurrently; same errors).

        Raises:
            ExtractionError: some agents' results could not be had (see :meth:`extract_results_from_agents`).
            ConfigError: ``batch=True`` and the client's backend has no batch API (before any call).
        """
        agents = list(agents)
        # Outcomes are tracked per position, never per name: agents may share a name.
        keys = agent_keys(a.name for a in agents)
        for key in keys:  # rows follow the agents' order, not the order the answers came back in
            self._order.setdefault(key)
        client = self.client or (agents[0].client if agents else None)
        batching = batch_mode(client) if self.batch and client is not None else contextlib.nullcontext()
        with batching:
            outcomes = await asyncio.gather(*(
                self._aextract(a, key, extraction_objective, situation, fields, fields_hints)
                for a, key in zip(agents, keys, strict=True)), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancellation and interrupts are not an agent's failure
        answered: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}
        for key, outcome in zip(keys, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failed[key] = self.agent_failures.get(key) or redact(f"{type(outcome).__name__}: {outcome}")
            else:
                answered[key] = outcome
        if failed:
            raise ExtractionError(answered, failed)
        return AgentResults((a.name, o) for a, o in zip(agents, outcomes, strict=True)
                            if not isinstance(o, BaseException))

    def extract_results_from_agents(self, agents: Iterable[TinyPerson], extraction_objective: str | None = None,
                                    situation: str | None = None, fields: FieldsLike | None = None,
                                    fields_hints: Mapping[str, str] | None = None,
                                    verbose: bool | None = None) -> AgentResults:
        """One result per agent, in the agents' order; the calls run concurrently.

        The result is a list, as in TinyTroupe, whose ``agents`` and ``by_agent`` say whose each
        result is (see :class:`AgentResults`). Agents that share a name each get their own entry:
        in :attr:`agent_extraction`, :attr:`agent_failures`, the rows and the error's ``.results``
        / ``.failures`` the second ``Ana`` is keyed ``"Ana (2)"`` (see :func:`agent_keys`).

        Raises:
            ExtractionError: any agent's result could not be had. It carries the others'
                (``.results``) and why each failed (``.failures``); they are also kept here
                (:attr:`agent_extraction`, :attr:`agent_failures`, :meth:`to_dataframe`).
            ConfigError: ``batch=True`` and the client's backend has no batch API (before any call).
        """
        return run_sync(self.aextract_results_from_agents(list(agents), extraction_objective, situation, fields,
                                                          fields_hints))

    async def aextract_results_from_world(self, world: TinyWorld, extraction_objective: str | None = None,
                                          situation: str | None = None, fields: FieldsLike | None = None,
                                          fields_hints: Mapping[str, str] | None = None,
                                          verbose: bool | None = None) -> dict[str, Any]:
        """Async twin of :meth:`extract_results_from_world` (same arguments, same errors).

        Raises:
            LLMTransportError: the model server could not be reached.
            LLMOutputError: the answers stayed invalid after the re-asks.
        """
        objective, sit, specs = self._resolve(extraction_objective, situation, fields, fields_hints)
        client = self.client or world.client
        messages = self._messages(world.pretty_current_interactions(), objective, sit, specs, client)
        result = await client.acomplete(messages, response_model=extraction_model(specs), purpose="extraction",
                                        world=world.name)
        values: dict[str, Any] = result.value.model_dump()
        self.world_extraction[world.name] = values
        return values

    def extract_results_from_world(self, world: TinyWorld, extraction_objective: str | None = None,
                                   situation: str | None = None, fields: FieldsLike | None = None,
                                   fields_hints: Mapping[str, str] | None = None,
                                   verbose: bool | None = None) -> dict[str, Any]:
        """The fields, extracted from the whole world's history with one call.

        Raises:
            LLMTransportError: the model server could not be reached.
            LLMOutputError: the answers stayed invalid after the re-asks.
        """
        return run_sync(self.aextract_results_from_world(world, extraction_objective, situation, fields,
                                                         fields_hints))

    # ------------------------------------------------------------------ output

    def result_rows(self) -> dict[str, dict[str, Any]]:
        """One row per agent: ``{"status": "ok", **fields}`` or ``{"status": "failed", "error": ...}``."""
        rows: dict[str, dict[str, Any]] = {}
        for name in self._order:
            if name in self.agent_failures:
                rows[name] = {"status": "failed", "error": self.agent_failures[name]}
            elif name in self.agent_extraction:
                rows[name] = {"status": "ok", **self.agent_extraction[name]}
        return rows

    def to_dataframe(self) -> pd.DataFrame:
        """One row per agent (columns ``agent``, ``status``, ``error``, then the fields; a failed agent's
        fields are empty).

        Numeric and true/false fields keep their type when some agents have no value (pandas'
        nullable ``Int64``, ``Float64`` and ``boolean``), instead of turning 7 into 7.0.
        """
        return _typed(results_to_dataframe(self.result_rows()), self.fields)

    def save_as_json(self, filename: str | Path, verbose: bool = False) -> None:
        """Write agent and world extractions as JSON, with the agents that failed and why."""
        Path(filename).write_text(json.dumps({"agent_extractions": self.agent_extraction,
                                              "agent_failures": self.agent_failures,
                                              "world_extraction": self.world_extraction},
                                             indent=2, ensure_ascii=False), encoding="utf-8")

    def save_as_csv(self, filename: str | Path) -> None:
        """Write one row per agent as CSV (see :meth:`to_dataframe`; lists joined with '; ')."""
        save_results_csv(self.result_rows(), filename)


# pandas' nullable dtypes: a missing value (a failed agent) leaves the others as they are.
_NULLABLE_DTYPES: dict[str, Any] = {"int": "Int64", "float": "Float64", "bool": "boolean"}


def _typed(df: pd.DataFrame, fields: Mapping[str, FieldSpec]) -> pd.DataFrame:
    for name, spec in fields.items():
        dtype = _NULLABLE_DTYPES.get(spec.type)
        if dtype is not None and name in df.columns:
            # Per-call fields of another type may share the column: then pandas' own choice stays.
            with contextlib.suppress(TypeError, ValueError):
                df[name] = df[name].astype(dtype)
    return df


def _flat(value: Any) -> Any:
    return "; ".join(map(str, value)) if isinstance(value, list) else value


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    # agent, status and error lead whenever rows carry them; fields follow in first-seen order.
    columns = ["agent"]
    if any("status" in r for r in rows):
        columns += ["status", "error"]
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns


def results_to_dataframe(results: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows from ``{agent: {field: value}}`` (or a list of dicts); see :meth:`ResultsExtractor.to_dataframe`."""
    if isinstance(results, Mapping):
        rows = [{"agent": name, **values} for name, values in results.items()]
    else:
        rows = [dict(r) for r in results]
    return pd.DataFrame(rows, columns=_columns(rows) if rows else None)


def save_results_csv(results: Mapping[str, Mapping[str, Any]], filename: str | Path) -> None:
    """Write ``{agent: row}`` as CSV, one line per agent (lists joined with '; ')."""
    rows = [{"agent": name, **{k: _flat(v) for k, v in values.items()}} for name, values in results.items()]
    columns = _columns(rows)
    with Path(filename).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


__all__ = ["AgentResults", "ResultsExtractor", "agent_keys", "results_to_dataframe", "save_results_csv"]
