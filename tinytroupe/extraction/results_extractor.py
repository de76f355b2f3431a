"""``ResultsExtractor``: structured results (answers, ratings, reasons) from what agents did.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"rating": 8, "reason": "handy"}]))
    >>> ana = TinyPerson("Ana", client=client).listen("Would you buy it?", source="Host")
    >>> ex = ResultsExtractor("Ana's rating", fields={"rating": "int", "reason": "str"}, client=client)
    >>> ex.extract_results_from_agent(ana)
    {'rating': 8, 'reason': 'handy'}
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.environment.world import TinyWorld
from tinytroupe.extraction.fields import FieldsLike, extraction_model, normalise_fields
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message

DEFAULT_OBJECTIVE = "The main points present in the agents' interactions history."
RECORD_CHAR_BUDGET = 12_000


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("tinytroupe.extraction", "prompts"),
                              autoescape=False, undefined=jinja2.StrictUndefined)


def _fit_record(text: str, budget: int = RECORD_CHAR_BUDGET) -> str:
    # Keep the newest part: survey answers come last in a transcript.
    if len(text) <= budget:
        return text
    return "(earlier events omitted)\n" + text[-budget:].split("\n", 1)[-1]


def _record_budget(client: LLMClient) -> int:
    hint = client.prompt_token_hint
    # Instructions and field list take about a third of a small model's prompt; the record gets the rest.
    return RECORD_CHAR_BUDGET if hint is None else min(RECORD_CHAR_BUDGET, hint * 4 * 2 // 3)


class ResultsExtractor:
    """Extracts validated fields from an agent's or a world's history with one LLM call each.

    Args:
        extraction_objective: what to extract, in words.
        situation: context that helps interpret the record.
        fields: field names (text), or a mapping of names to types / :class:`FieldSpec` s.
        fields_hints: per-field hints for the model.
        client: the LLM client (default: the agent's or world's client).
    """

    def __init__(self, extraction_objective: str = DEFAULT_OBJECTIVE, situation: str = "",
                 fields: FieldsLike | None = None, fields_hints: Mapping[str, str] | None = None,
                 verbose: bool = False, *, client: LLMClient | None = None) -> None:
        self.extraction_objective = extraction_objective
        self.situation = situation
        self.fields = normalise_fields(fields, fields_hints)
        self.verbose = verbose
        self.client = client
        self.agent_extraction: dict[str, dict[str, Any]] = {}
        self.world_extraction: dict[str, dict[str, Any]] = {}

    def _messages(self, record: str, objective: str, situation: str, fields: Mapping[str, Any],
                  client: LLMClient) -> list[Message]:
        specs = [{"name": n, "type_label": s.type_label, "hint": s.hint} for n, s in fields.items()]
        system = _env().get_template("extract_system.j2").render(fields=specs)
        user = _env().get_template("extract_user.j2").render(objective=objective, situation=situation,
                                                              record=_fit_record(record, _record_budget(client)))
        return [Message(role="system", content=system), Message(role="user", content=user)]

    def _resolve(self, objective: str | None, situation: str | None, fields: FieldsLike | None,
                 hints: Mapping[str, str] | None) -> tuple[str, str, dict[str, Any]]:
        specs = normalise_fields(fields, hints) if fields is not None else self.fields
        return (objective or self.extraction_objective, self.situation if situation is None else situation, specs)

    async def aextract_results_from_agent(self, agent: TinyPerson, extraction_objective: str | None = None,
                                          situation: str | None = None, fields: FieldsLike | None = None,
                                          fields_hints: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Async twin of :meth:`extract_results_from_agent`."""
        objective, sit, specs = self._resolve(extraction_objective, situation, fields, fields_hints)
        client = self.client or agent.client
        messages = self._messages(agent.pretty_current_interactions(), objective, sit, specs, client)
        world = agent.environment.name if agent.environment is not None else None
        result = await client.acomplete(messages, response_model=extraction_model(specs), purpose="extraction",
                                        agent=agent.name, world=world)
        values: dict[str, Any] = result.value.model_dump()
        self.agent_extraction[agent.name] = values
        return values

    def extract_results_from_agent(self, agent: TinyPerson, extraction_objective: str | None = None,
                                   situation: str | None = None, fields: FieldsLike | None = None,
                                   fields_hints: Mapping[str, str] | None = None,
                                   verbose: bool | None = None) -> dict[str, Any]:
        """The fields, extracted from ``agent``'s history and validated."""
        return run_sync(self.aextract_results_from_agent(agent, extraction_objective, situation, fields,
                                                         fields_hints))

    async def aextract_results_from_agents(self, agents: Iterable[TinyPerson],
                                           extraction_objective: str | None = None, situation: str | None = None,
                                           fields: FieldsLike | None = None,
                                           fields_hints: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Async twin of :meth:`extract_results_from_agents` (all agents concurrently)."""
        return list(await asyncio.gather(*(
            self.aextract_results_from_agent(a, extraction_objective, situation, fields, fields_hints)
            for a in agents)))

    def extract_results_from_agents(self, agents: Iterable[TinyPerson], extraction_objective: str | None = None,
                                    situation: str | None = None, fields: FieldsLike | None = None,
                                    fields_hints: Mapping[str, str] | None = None,
                                    verbose: bool | None = None) -> list[dict[str, Any]]:
        """One result per agent, in the agents' order; the calls run concurrently."""
        return run_sync(self.aextract_results_from_agents(list(agents), extraction_objective, situation, fields,
                                                          fields_hints))

    async def aextract_results_from_world(self, world: TinyWorld, extraction_objective: str | None = None,
                                          situation: str | None = None, fields: FieldsLike | None = None,
                                          fields_hints: Mapping[str, str] | None = None) -> dict[str, Any]:
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
        """The fields, extracted from the whole world's history with one call."""
        return run_sync(self.aextract_results_from_world(world, extraction_objective, situation, fields,
                                                         fields_hints))

    # ------------------------------------------------------------------ output

    def to_dataframe(self) -> pd.DataFrame:
        """Agent extractions as a DataFrame, one row per agent (column ``agent`` first)."""
        return results_to_dataframe(self.agent_extraction)

    def save_as_json(self, filename: str | Path, verbose: bool = False) -> None:
        """Write agent and world extractions as JSON."""
        Path(filename).write_text(json.dumps({"agent_extractions": self.agent_extraction,
                                              "world_extraction": self.world_extraction},
                                             indent=2, ensure_ascii=False), encoding="utf-8")

    def save_as_csv(self, filename: str | Path) -> None:
        """Write agent extractions as CSV (lists joined with '; ')."""
        save_results_csv(self.agent_extraction, filename)


def _flat(value: Any) -> Any:
    return "; ".join(map(str, value)) if isinstance(value, list) else value


def results_to_dataframe(results: Mapping[str, Mapping[str, Any]] | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows from ``{agent: {field: value}}`` (or a list of dicts)."""
    if isinstance(results, Mapping):
        rows = [{"agent": name, **values} for name, values in results.items()]
    else:
        rows = [dict(r) for r in results]
    return pd.DataFrame(rows)


def save_results_csv(results: Mapping[str, Mapping[str, Any]], filename: str | Path) -> None:
    rows = [{"agent": name, **{k: _flat(v) for k, v in values.items()}} for name, values in results.items()]
    columns: list[str] = ["agent"]
    for row in rows:
        columns += [k for k in row if k not in columns]
    with Path(filename).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


__all__ = ["ResultsExtractor", "results_to_dataframe", "save_results_csv"]
