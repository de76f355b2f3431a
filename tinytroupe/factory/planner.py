"""Making a sampling plan from a description: one structured LLM call.

The model is asked for the dimensions of the population described and the weight of each option
(:class:`PlanAnswer`); what it answers must make a valid :class:`~tinytroupe.factory.plan.SamplingPlan`
(no dimension twice, weights that are not all zero, ranges in order), or the client re-asks it with
the problems and finally raises :class:`~tinytroupe.errors.LLMOutputError` with the raw answer.
Dimensions already fixed by data (a census table) are named in the prompt, and any the model gives
anyway are dropped: the data wins.

Example:
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"dimensions": [
    ...     {"name": "diet", "description": "what they eat", "range": None,
    ...      "values": [{"value": "omnivore", "weight": 3}, {"value": "vegan", "weight": 1}]}]}]))
    >>> plan = propose_plan(client, "Adults in Lisbon")
    >>> plan.targets()
    {'diet': {'omnivore': 0.75, 'vegan': 0.25}}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinytroupe.aio import run_sync
from tinytroupe.factory.plan import MAX_OPTIONS, SamplingPlan
from tinytroupe.factory.prompts import template
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message

#: most dimensions a proposed plan may have
MAX_DIMENSIONS = 16
#: most options the model is asked to give per dimension (plans given as data may have up to MAX_OPTIONS)
PROPOSED_OPTIONS = 30


class PlannedOption(BaseModel):
    """One option of a proposed categorical dimension."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=200)
    weight: float = Field(ge=0.0, allow_inf_nan=False)


class PlannedRange(BaseModel):
    """The range of a proposed numeric dimension."""

    model_config = ConfigDict(extra="forbid")

    min: float = Field(allow_inf_nan=False)
    max: float = Field(allow_inf_nan=False)
    integer: bool


class PlannedDimension(BaseModel):
    """One proposed dimension: ``values`` (categorical) or ``range`` (numeric)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(max_length=500)
    values: list[PlannedOption] = Field(max_length=MAX_OPTIONS)
    range: PlannedRange | None


class PlanAnswer(BaseModel):
    """What the plan call must answer; it validates only if it makes a valid sampling plan."""

    model_config = ConfigDict(extra="forbid")

    dimensions: list[PlannedDimension] = Field(min_length=1, max_length=MAX_DIMENSIONS)

    @model_validator(mode="after")
    def _makes_a_plan(self) -> PlanAnswer:
        try:
            self.to_plan()
        except ValidationError as exc:
            # A plain ValueError is what pydantic reports, and what the client shows the model on a re-ask.
            raise ValueError("; ".join(e["msg"] for e in exc.errors())) from None
        return self

    def to_plan(self, description: str = "") -> SamplingPlan:
        """The sampling plan this answer describes (empty ``values`` with a range: numeric)."""
        dims: list[dict[str, Any]] = []
        for d in self.dimensions:
            entry: dict[str, Any] = {"name": d.name.strip(), "description": d.description}
            if d.range is not None and not d.values:
                entry["range"] = d.range.model_dump()
            else:
                entry["values"] = [o.model_dump() for o in d.values]
            dims.append(entry)
        return SamplingPlan.model_validate({"description": description, "dimensions": dims})


def plan_messages(description: str, *, context: str | None = None, population_size: int | None = None,
                  fixed: list[str] | None = None) -> list[Message]:
    """The plan call's prompt: stable instructions first, then this population."""
    system = template("plan_system.j2").render(max_dimensions=MAX_DIMENSIONS, max_options=PROPOSED_OPTIONS)
    user = template("plan_user.j2").render(description=description, context=context or "",
                                           population_size=population_size, fixed=fixed or [])
    return [Message(role="system", content=system), Message(role="user", content=user)]


async def apropose_plan(client: LLMClient, description: str, *, context: str | None = None,
                        population_size: int | None = None, fixed: SamplingPlan | None = None,
                        **params: Any) -> SamplingPlan:
    """Async twin of :func:`propose_plan`.

    Raises:
        LLMOutputError: the answers stayed invalid after the client's re-asks (carries the raw answer).
        LLMTransportError: the model server could not be reached.
    """
    names = fixed.dimension_names() if fixed is not None else []
    messages = plan_messages(description, context=context, population_size=population_size, fixed=names)
    result = await client.acomplete(messages, response_model=PlanAnswer, purpose="sampling_plan", **params)
    proposed = result.value.to_plan(description)
    return fixed.merged(proposed) if fixed is not None else proposed


def propose_plan(client: LLMClient, description: str, *, context: str | None = None,
                 population_size: int | None = None, fixed: SamplingPlan | None = None,
                 **params: Any) -> SamplingPlan:
    """A sampling plan for the people ``description`` describes, from one LLM call; ``fixed``'s
    dimensions are kept and the model's dimensions of the same name or persona path dropped.

    Raises:
        LLMOutputError: the answers stayed invalid after the client's re-asks (carries the raw answer).
        LLMTransportError: the model server could not be reached.
    """
    return run_sync(apropose_plan(client, description, context=context, population_size=population_size,
                                  fixed=fixed, **params))


__all__ = ["MAX_DIMENSIONS", "PlanAnswer", "PlannedDimension", "PlannedOption", "PlannedRange",
           "apropose_plan", "plan_messages", "propose_plan"]
