"""``InsightGenerator``: a language model reads a run's trace (condensed within a token budget) and states
insights (themes, disagreements, surprises, segments, recommendations), each citing the ids of the events it
rests on; then every insight is checked, and marked ``supported: false`` with the reason when it fails:

1. every cited id must be an event of the run that the model was shown (an id it could not have read is
   invented evidence, whatever it points at);
2. a judge (:func:`tinytroupe.agent.judging.ajudge`, on ``judge`` or the same client) reads the cited
   events, and only those, and says whether they support the claim.

Nothing is dropped: an unsupported insight stays in the report, marked.

Example (a scripted model: one insight citing an event that exists, one citing one that does not):
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> events = [{"kind": "action", "action_type": "TALK", "agent": "Ana", "content": "Far too expensive.", "step": 1}]
    >>> answers = [{"insights": [{"kind": "theme", "claim": "Ana finds it expensive.", "evidence": [0]},
    ...                          {"kind": "surprise", "claim": "Ben loves it.", "evidence": [5]}]},
    ...            {"justification": "Event 0: she says so.", "value": True, "confidence": 0.9}]
    >>> report = InsightGenerator(LLMClient(ScriptedBackend(answers))).generate(events)
    >>> [(i.claim, i.supported) for i in report.insights]
    [('Ana finds it expensive.', True), ('Ben loves it.', False)]
    >>> report.insights[1].reason
    'cites events that are not in the run: 5'
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tinytroupe.agent.judging import PropositionCheck, ajudge
from tinytroupe.aio import run_sync
from tinytroupe.analysis.condense import Condensed, condense_events, render_event
from tinytroupe.analysis.insights import MAX_EVIDENCE, Insight, InsightDraft, InsightDrafts, InsightReport
from tinytroupe.analysis.prompts import template
from tinytroupe.analysis.run_events import RunEvents
from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message

logger = logging.getLogger(__name__)

#: tokens of trace the model reads by default
TOKEN_BUDGET = 6000


class InsightGenerator:
    """Draws checked insights from a run.

    Args:
        client: the model that reads the trace and states insights.
        judge: the model that checks each insight against its cited events (default: ``client``).
        token_budget: tokens of condensed trace the model reads (see :mod:`tinytroupe.analysis.condense`).
        max_insights: the most insights asked for.
        check: judge each insight (existence of the evidence is always checked).
    """

    def __init__(self, client: LLMClient, *, judge: LLMClient | None = None, token_budget: int = TOKEN_BUDGET,
                 max_insights: int = 8, check: bool = True) -> None:
        if not 1 <= max_insights <= 20:
            raise InvalidArgument(f"max_insights must be between 1 and 20, got {max_insights}")
        self.client = client
        self.judge = judge if judge is not None else client
        self.token_budget = token_budget
        self.max_insights = max_insights
        self.check = check

    def generate(self, source: Any, *, focus: str | None = None, patterns: Any = None,
                 run_id: int | None = None) -> InsightReport:
        """Sync twin of :meth:`agenerate`."""
        return run_sync(self.agenerate(source, focus=focus, patterns=patterns, run_id=run_id))

    async def agenerate(self, source: Any, *, focus: str | None = None, patterns: Any = None,
                        run_id: int | None = None) -> InsightReport:
        """Insights about the run at ``source`` (a run file, ``trace.jsonl``, ``EventRecorder`` or list of
        events), checked.

        Args:
            focus: what the study wants to know (the model is told).
            patterns: a :class:`~tinytroupe.analysis.patterns.PatternReport` of the same run, whose findings
                (and the ids they cite) the model is shown.

        Raises:
            LLMOutputError: the model's answer stayed malformed after the client's re-asks.
            LLMTransportError: the model server could not be reached.
        """
        run = RunEvents.load(source, run_id=run_id)
        condensed = condense_events(run, self.token_budget)
        findings = patterns.findings() if patterns is not None else []
        drafts = await self._draft(run, condensed, focus, findings)
        shown = set(condensed.shown_ids) | {i for f in findings for i in f["evidence"]}
        checked = await self.acheck(drafts, run, shown=shown)
        return InsightReport(insights=checked, origin=run.origin, events_total=len(run),
                             events_shown=len(condensed.shown_ids), condensed_how=condensed.method,
                             token_budget=self.token_budget)

    async def _draft(self, run: RunEvents, condensed: Condensed, focus: str | None,
                     findings: list[dict[str, Any]]) -> list[InsightDraft]:
        if not condensed.shown_ids:
            return []  # nothing was said or done: nothing to draw from, and no call is made
        found = "\n".join(f"- {f['title']}: {f['text']} (events {', '.join(map(str, f['evidence']))})"
                          for f in findings)
        about = f"{len(run.agents())} agents ({', '.join(run.agents()[:30])}), steps {_span(run.steps())}, " \
                f"{len(run)} events in the trace ({run.origin})."
        system = template("insight_system.j2").render(max_insights=self.max_insights, max_evidence=MAX_EVIDENCE)
        user = template("insight_user.j2").render(about=about, shown=len(condensed.shown_ids), total=len(run),
                                                  method=condensed.method, events=condensed.text, patterns=found,
                                                  focus=focus or "")
        messages = [Message(role="system", content=system), Message(role="user", content=user)]
        answer = await self.client.acomplete(messages, response_model=InsightDrafts, purpose="insights")
        drafts: list[InsightDraft] = list(answer.value.insights)
        if len(drafts) > self.max_insights:
            logger.info("the model gave %d insights; the first %d are kept", len(drafts), self.max_insights)
        return drafts[: self.max_insights]

    async def acheck(self, drafts: list[InsightDraft], run: RunEvents, *,
                     shown: set[int] | None = None) -> list[Insight]:
        """Check each draft (see the module): its evidence exists (and was shown, when ``shown`` is given),
        then, with ``check``, the judge's verdict on the cited events."""
        return list(await asyncio.gather(*(self._check_one(d, run, shown) for d in drafts)))

    async def _check_one(self, draft: InsightDraft, run: RunEvents, shown: set[int] | None) -> Insight:
        base = {"claim": draft.claim, "kind": draft.kind, "evidence": list(draft.evidence)}
        missing = [i for i in draft.evidence if i not in run]
        if missing:
            return Insight(**base, supported=False,
                           reason=f"cites events that are not in the run: {', '.join(map(str, missing))}")
        unseen = [i for i in draft.evidence if shown is not None and i not in shown]
        if unseen:
            return Insight(**base, supported=False, reason="cites events the model was not shown (it could not have "
                                                           f"read them): {', '.join(map(str, unseen))}")
        if not self.check:
            return Insight(**base)
        lines = [_evidence_line(run.by_id(i)) for i in draft.evidence]
        context = template("insight_judge_context.j2").render() + "\n\n" + "\n".join(lines)
        verdict = await ajudge(self.judge, PropositionCheck, draft.claim, context, purpose="insight_check")
        return Insight(**base, supported=verdict.value, confidence=verdict.confidence,
                       reason=verdict.justification)


def _evidence_line(event: dict[str, Any]) -> str:
    rendered = render_event(event)
    if rendered is not None:
        return rendered[1]
    who = event.get("agent") or "-"
    text = event.get("content") or event.get("message") or ""
    return f"[{event['id']}] step {event.get('step', '-')} · {event.get('kind')} of {who}: {str(text)[:300]}"


def _span(steps: list[int]) -> str:
    return f"{steps[0]} to {steps[-1]}" if steps else "none"


__all__ = ["TOKEN_BUDGET", "InsightGenerator"]
