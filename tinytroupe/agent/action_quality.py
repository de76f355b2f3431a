"""Action quality checks: a turn's actions are scored before they are committed, and regenerated with
the judges' feedback while they score below a threshold (TinyTroupe's ``ActionGenerator`` quality
checks, ``[ActionGenerator]`` settings).

Off by default, so a turn stays one LLM call. When ``ENABLE_QUALITY_CHECKS`` is on, in the ``decide``
phase each enabled check scores the proposed actions (DONE left out) from 0 to 9 with one judge call
(:mod:`tinytroupe.agent.judging`), reading the agent's persona and the first 5 and last 10 events of its
trajectory:

=====================  ===================================================================  ==========
check (setting)        the claim judged                                                     LLM call
=====================  ===================================================================  ==========
persona_adherence      the actions fit the persona (TinyTroupe's *hard* variant: each        yes
                       departure costs about two points)
self_consistency       they contradict nothing the agent said or did before                 yes
fluency                they read naturally, without repeating earlier wording               yes
suitability            they suit the situation and the agent's goals                        yes
similarity             no action repeats one of the agent's last 10 nearly word for word    no
=====================  ===================================================================  ==========

A proposal with no TALK or THINK passes every check without a call (TinyTroupe's precondition), as
does self-consistency before the agent's first action. An attempt passes when every score is at least
``QUALITY_THRESHOLD``. A failing attempt is re-asked with the scores and justifications, at most
``MAX_ATTEMPTS`` times after the first answer (so up to ``1 + MAX_ATTEMPTS`` answers). The first attempt
that passes is committed; if none does, the best (highest total, earliest on ties) is committed when
``CONTINUE_ON_FAILURE`` is on, and otherwise the turn fails with
:class:`~tinytroupe.errors.PoorQualityActionError`, nothing committed. Each checked turn publishes an
:class:`~tinytroupe.events.ActionQualityEvent` with every attempt's actions and scores. A judge's answer
that stays malformed fails the turn (:class:`~tinytroupe.errors.LLMOutputError`); no score is made up.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> talk = {"actions": [{"type": "TALK", "content": "Whatever."}, {"type": "DONE"}]}
    >>> verdict = {"justification": "Ana is warm; this is curt.", "value": 2, "confidence": 0.8}
    >>> kinder = {"actions": [{"type": "TALK", "content": "Lovely to see you!"}, {"type": "DONE"}]}
    >>> good = {"justification": "Warm, as Ana is.", "value": 8, "confidence": 0.9}
    >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([talk, verdict, kinder, good])))
    >>> _ = ana.get_component("action_quality").configure(enable_quality_checks=True)
    >>> [a.content for a in ana.listen_and_act("Hi Ana!", return_actions=True)]
    ['Lovely to see you!', '']
    >>> ana.get_component("action_quality").get_statistics()["regenerations"]
    1
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from pydantic import ValidationError

from tinytroupe.agent.actions import Action, ActionBatch, action_similarity
from tinytroupe.agent.judging import MAX_SCORE, MIN_SCORE, PropositionScore, ajudge, render_claim, trajectory_context
from tinytroupe.agent.prompts import source, template
from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.config.models import ActionGeneratorSettings
from tinytroupe.errors import InvalidArgument, InvalidState, PoorQualityActionError
from tinytroupe.events import ActionQualityEvent
from tinytroupe.llm.types import Message

if TYPE_CHECKING:  # annotations only: the agent builds on this module
    from tinytroupe.agent.person import TinyPerson

#: the trajectory window the judges read (TinyTroupe's for its per-action propositions)
FIRST_N = 5
LAST_N = 10
#: scores of regenerated attempts kept for :meth:`ActionQualityCheck.get_statistics`
SCORES_KEPT = 1000


@dataclass(frozen=True)
class ActionCheck:
    """One quality check: its name, the setting that enables it and the claim its judge scores."""

    name: str
    setting: str
    claim_file: str | None  # None: not judged by a model (similarity)
    include_persona: bool = False
    min_prior_actions: int = 0

    def claim(self) -> str:
        """The claim's text, with ``{{action}}`` still to fill in."""
        if self.claim_file is None:
            raise InvalidState(f"the {self.name!r} check is not judged by a model and has no claim")
        return source(self.claim_file)


#: the checks, in the order they run (and their scores are listed)
ACTION_CHECKS: tuple[ActionCheck, ...] = (
    ActionCheck("persona_adherence", "enable_quality_check_for_persona_adherence",
                "claim_hard_action_persona_adherence.j2", include_persona=True),
    ActionCheck("self_consistency", "enable_quality_check_for_selfconsistency", "claim_action_self_consistency.j2",
                min_prior_actions=1),
    ActionCheck("fluency", "enable_quality_check_for_fluency", "claim_action_fluency.j2"),
    ActionCheck("suitability", "enable_quality_check_for_suitability", "claim_action_suitability.j2",
                include_persona=True),
    ActionCheck("similarity", "enable_quality_check_for_similarity", None),
)


@dataclass
class Attempt:
    """One proposal for the turn's actions and how it scored."""

    batch: ActionBatch
    scores: dict[str, int] = field(default_factory=dict)
    justifications: dict[str, str] = field(default_factory=dict)
    passed: bool = True

    @property
    def total(self) -> int:
        return sum(self.scores.values())

    def record(self) -> dict[str, Any]:
        return {"actions": [a.model_dump() for a in _scored_actions(self.batch)], "scores": dict(self.scores),
                "total": self.total, "passed": self.passed}


def _scored_actions(batch: ActionBatch) -> list[Action]:
    # What a judge sees: the actions up to the first DONE (DONE itself says nothing about quality).
    kept: list[Action] = []
    for action in batch.actions:
        if action.type == "DONE":
            break
        kept.append(action)
    return kept


class ActionQualityCheck(TurnComponent):
    """Scores a turn's actions in ``decide`` and has poor ones regenerated (see the module docstring).

    Every agent has one (named ``action_quality``); it does nothing while ``ENABLE_QUALITY_CHECKS`` is
    off. Its settings are the agent's run context's ``[ActionGenerator]`` section, read at each turn,
    with what :meth:`configure` set for this agent laid over them (keyword arguments here do the same).

    Raises:
        InvalidArgument: an override is not an ``[ActionGenerator]`` setting or has a bad value.
    """

    name = "action_quality"
    portable = True  # its overrides and counters are its state

    def __init__(self, **overrides: Any) -> None:
        self._overrides: dict[str, Any] = {}
        self._stats: dict[str, int] = dict.fromkeys(
            ("turns_checked", "original_passed", "regenerations", "regenerations_failed", "turns_failed"), 0)
        self._regeneration_scores: deque[int] = deque(maxlen=SCORES_KEPT)
        self.configure(**overrides)

    def configure(self, **overrides: Any) -> Self:
        """Set ``[ActionGenerator]`` values for this agent only (lower-case names, e.g.
        ``enable_quality_checks=True, quality_threshold=7``); None removes an override.

        Raises:
            InvalidArgument: not an ``[ActionGenerator]`` setting, or a bad value.
        """
        merged = {**self._overrides, **overrides}
        merged = {k: v for k, v in merged.items() if v is not None}
        try:
            ActionGeneratorSettings.model_validate(merged)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InvalidArgument(f"action quality settings: {problems} (the names are [ActionGenerator]'s, "
                                  f"lower case: {', '.join(ActionGeneratorSettings.model_fields)})") from None
        self._overrides = merged
        return self

    def settings_for(self, agent: TinyPerson, base: ActionGeneratorSettings | None = None) -> ActionGeneratorSettings:
        """The settings a turn of ``agent`` uses: its run context's (or ``base``), with this agent's overrides."""
        if base is None:
            base = agent.context.settings.actiongenerator
        return base.model_copy(update=self._overrides) if self._overrides else base

    # ------------------------------------------------------------------ the turn

    async def decide(self, turn: Turn) -> None:
        if turn.batch is None or turn.preview:
            return
        base = turn.context.settings.actiongenerator if turn.context is not None else None
        settings = self.settings_for(turn.agent, base)
        if not settings.enable_quality_checks:  # off by default: nothing more to look at
            return
        checks = [c for c in ACTION_CHECKS if getattr(settings, c.setting)]
        if not checks:
            return
        attempts = [await self._assess(turn, turn.batch, checks, settings.quality_threshold)]
        while not attempts[-1].passed and settings.enable_regeneration and len(attempts) <= settings.max_attempts:
            batch = await self._regenerate(turn, attempts, settings.quality_threshold)
            attempts.append(await self._assess(turn, batch, checks, settings.quality_threshold))
        chosen = self._choose(attempts, settings.continue_on_failure)
        self._count(attempts, chosen)
        turn.agent._publish(ActionQualityEvent(
            agent=turn.agent.name, world=turn.world, step=turn.step, threshold=settings.quality_threshold,
            attempts=[a.record() for a in attempts], chosen=chosen,
            passed=chosen is not None and attempts[chosen].passed))
        turn.notes[self.name] = attempts
        if chosen is None:
            raise PoorQualityActionError(turn.agent.name, [a.scores for a in attempts], settings.quality_threshold,
                                         step=turn.step)
        turn.batch = attempts[chosen].batch

    async def _assess(self, turn: Turn, batch: ActionBatch, checks: list[ActionCheck], threshold: int) -> Attempt:
        attempt = Attempt(batch)
        actions = _scored_actions(batch)
        says_something = any(a.type in ("TALK", "THINK") for a in actions)
        prior = 1 if any(item.kind == "action" for item in turn.agent.memory.items()) else 0
        # One check at a time: the judge calls of a turn keep one order, as replay checks expect.
        for check in checks:
            if not says_something or prior < check.min_prior_actions:
                score, why = MAX_SCORE, "Nothing to judge: the check's precondition does not hold, so it passes."
            elif check.claim_file is None:
                score, why = _similarity(turn.agent, actions)
            else:
                verdict = await self._judge(turn, check, actions)
                score, why = verdict.value, verdict.justification
            attempt.scores[check.name] = score
            attempt.justifications[check.name] = why
        attempt.passed = all(s >= threshold for s in attempt.scores.values())
        return attempt

    async def _judge(self, turn: Turn, check: ActionCheck, actions: list[Action]) -> PropositionScore:
        claim = render_claim(check.claim(), {"action": [a.model_dump() for a in actions]})
        context = trajectory_context([turn.agent], FIRST_N, LAST_N, include_personas=check.include_persona)
        return await ajudge(turn.client, PropositionScore, claim, context, purpose="action_quality",
                            agent=turn.agent.name, world=turn.world, step=turn.step)

    async def _regenerate(self, turn: Turn, attempts: list[Attempt], threshold: int) -> ActionBatch:
        spec = turn.spec
        if spec is None:
            raise InvalidState("the turn has no action spec to regenerate from (set Turn.spec before decide)")
        messages = list(turn.messages)
        for attempt in attempts:
            failures = [{"name": n, "score": s, "justification": attempt.justifications[n]}
                        for n, s in attempt.scores.items() if s < threshold]
            feedback = template("action_quality_feedback.j2").render(
                failures=failures, threshold=threshold, min_score=MIN_SCORE, max_score=MAX_SCORE)
            messages += [Message(role="assistant", content=attempt.batch.model_dump_json()),
                         Message(role="user", content=feedback)]
        result = await turn.client.acomplete(messages, response_model=spec.model, response_schema=spec.schema,
                                             validation_context=spec.context, purpose="action_regeneration",
                                             agent=turn.agent.name, world=turn.world, step=turn.step)
        return ActionBatch.model_validate(result.value.model_dump())

    @staticmethod
    def _choose(attempts: list[Attempt], continue_on_failure: bool) -> int | None:
        if attempts[-1].passed:
            return len(attempts) - 1
        if not continue_on_failure:
            return None
        best = max(a.total for a in attempts)
        return next(i for i, a in enumerate(attempts) if a.total == best)

    # ------------------------------------------------------------------ statistics and state

    def _count(self, attempts: list[Attempt], chosen: int | None) -> None:
        stats = self._stats
        stats["turns_checked"] += 1
        stats["original_passed"] += attempts[0].passed
        stats["regenerations"] += len(attempts) - 1
        stats["regenerations_failed"] += sum(not a.passed for a in attempts[1:])
        stats["turns_failed"] += chosen is None or not attempts[chosen].passed
        self._regeneration_scores.extend(a.total for a in attempts[1:])

    def get_statistics(self) -> dict[str, Any]:
        """Counts since the agent was made (or loaded): turns checked, first answers that passed,
        regenerations and those that failed, turns where no attempt passed; the rates; and the mean and
        standard deviation of regenerated attempts' total scores (the last 1000), as TinyTroupe's
        ``ActionGenerator.get_statistics``.
        """
        s = self._stats
        scores = np.array(self._regeneration_scores, dtype=float)
        return {**s,
                "original_success_rate": s["original_passed"] / s["turns_checked"] if s["turns_checked"] else 0.0,
                "regeneration_failure_rate": (s["regenerations_failed"] / s["regenerations"]
                                              if s["regenerations"] else 0.0),
                "regeneration_mean_score": float(scores.mean()) if scores.size else 0.0,
                "regeneration_sd_score": float(scores.std(ddof=1)) if scores.size > 1 else 0.0}

    def get_state(self) -> dict[str, Any]:
        if not self._overrides and not self._stats["turns_checked"]:
            return {}
        return {"overrides": dict(self._overrides), "stats": dict(self._stats),
                "regeneration_scores": list(self._regeneration_scores)}

    def set_state(self, state: dict[str, Any]) -> None:
        self._overrides = {}
        self.configure(**state.get("overrides", {}))
        self._stats.update({k: int(v) for k, v in state.get("stats", {}).items() if k in self._stats})
        self._regeneration_scores = deque((int(v) for v in state.get("regeneration_scores", [])), maxlen=SCORES_KEPT)


def _similarity(agent: TinyPerson, actions: list[Action]) -> tuple[int, str]:
    recent = [Action(type=i.type, content=i.content, target=i.target or "")
              for i in agent.memory.recent(LAST_N) if i.kind == "action"]
    repeated = [a for a in actions if any(action_similarity(old, a) > agent.MAX_ACTION_SIMILARITY for old in recent)]
    if repeated:
        return MIN_SCORE, "Repeats, nearly word for word, something the agent did recently: " + "; ".join(
            f"{a.type} {a.content!r}" for a in repeated)
    return MAX_SCORE, f"No action repeats one of the agent's last {LAST_N} events."


__all__ = ["ACTION_CHECKS", "FIRST_N", "LAST_N", "ActionCheck", "ActionQualityCheck", "Attempt"]
