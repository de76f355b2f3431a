"""Reflection (knowledge synthesis), as in Generative Agents.

When the summed importance of memories since the last reflection passes a threshold (default 150),
the agent asks itself a few salient questions about its recent memories (one LLM call), recalls
evidence for each by relevance retrieval, and writes insights that cite the ids of their evidence
(a second call). Both calls use ``purpose="reflection"``. Insights become semantic memories and can
be evidence for later reflections. Cited ids not among the evidence shown are dropped; an insight
left with no valid evidence is discarded (and reported by the caller).

Example:
    >>> valid_evidence(["E3", "[S1]", "E99"], {"E3", "S1"})
    ['E3', 'S1']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field, create_model

from tinytroupe.agent.prompts import template
from tinytroupe.llm.client import LLMClient


class Insight(BaseModel):
    """One insight and the ids (``E12``, ``S3``) of the memories it rests on."""

    content: str = Field(min_length=1, max_length=600)
    evidence: list[str] = Field(min_length=1, max_length=20)


class Insights(BaseModel):
    insights: list[Insight] = Field(min_length=1, max_length=20)


def questions_model(count: int) -> type[BaseModel]:
    return create_model("ReflectionQuestions",
                        questions=(list[str], Field(min_length=1, max_length=count)))


def valid_evidence(cited: Iterable[str], allowed: set[str]) -> list[str]:
    """The cited refs that were shown, normalised (``[E3]`` → ``E3``), in order, without repeats."""
    out: list[str] = []
    for ref in cited:
        ref = ref.strip().strip("[]").strip()
        if ref in allowed and ref not in out:
            out.append(ref)
    return out


class Reflector:
    """The LLM side of reflection (the agent's memory retrieves evidence and stores insights)."""

    def __init__(self, questions: int = 3) -> None:
        self.questions = questions

    async def aquestions(self, memories: Sequence[str], agent_name: str, client: LLMClient, *,
                         world: str | None = None, step: int | None = None) -> list[str]:
        prompt = template("memory_reflection_questions.j2").render(name=agent_name, memories=list(memories),
                                                                   count=self.questions)
        result = await client.acomplete([{"role": "user", "content": prompt}],
                                        response_model=questions_model(self.questions), purpose="reflection",
                                        agent=agent_name, world=world, step=step)
        return [q.strip() for q in result.value.questions if q.strip()][: self.questions]

    async def ainsights(self, questions: Sequence[tuple[str, Sequence[str]]], agent_name: str, client: LLMClient,
                        *, world: str | None = None, step: int | None = None) -> list[Insight]:
        items = [{"question": q, "evidence": list(lines)} for q, lines in questions]
        prompt = template("memory_reflection_insights.j2").render(name=agent_name, questions=items)
        result = await client.acomplete([{"role": "user", "content": prompt}], response_model=Insights,
                                        purpose="reflection", agent=agent_name, world=world, step=step)
        return list(result.value.insights)


__all__ = ["Insight", "Insights", "Reflector", "questions_model", "valid_evidence"]
