"""The emotions turn component: an agent's PAD state, kept up to date in the phases of its turns.

==============  ==========================================================================
phase           what it does
==============  ==========================================================================
``perceive``    decays the state towards the baseline for the simulated time since its last
                update (a turn's worth without a clock); with ``APPRAISAL = "rule"`` appraises
                the new stimuli by the rule
``retrieve``    leaves the mood for mood-congruent recall (``turn.notes[MOOD_NOTE]``), shows
                the state in the prompt, asks for the appraisal fields (``turn.appraisal``)
                and sets the temperature when generation shaping is on
``act``         applies the appraisal the turn's answer carried, tags the turn's new memories
                with the state (raising their importance by its intensity) and publishes an
                :class:`~tinytroupe.events.EmotionEvent`
==============  ==========================================================================

No hook calls a model: appraisal rides on the turn's own call. The state is saved with the agent
(``AgentState.components["emotions"]``). Equations and parameters: ``docs/emotions.md``.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> reply = {"actions": [{"type": "DONE"}],
    ...          "cognitive_state": {"pleasure_change": -3, "arousal_change": 3, "dominance_change": -1}}
    >>> ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([reply]))).add_component(EmotionComponent())
    >>> ana.listen_and_act("You ruined everything!", source="Bo")
    >>> ana.get_component("emotions").state.current.label
    'anxious'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from tinytroupe.agent.emotions.appraisal import answer_steps, rule_appraisal
from tinytroupe.agent.emotions.baseline import baseline_from_persona, explicit_baseline
from tinytroupe.agent.emotions.dynamics import EmotionParams, apply_change, decay, steps_to_change
from tinytroupe.agent.emotions.influence import APPRAISAL_RULE, SECTION_TITLE, feeling_line, temperature_for
from tinytroupe.agent.emotions.pad import PAD, EmotionalState
from tinytroupe.agent.memory import TRIVIAL_TYPES
from tinytroupe.agent.memory.affect import Mood
from tinytroupe.agent.turn import Turn, TurnComponent
from tinytroupe.agent.turn_components import MOOD_NOTE
from tinytroupe.config import EmotionsSettings
from tinytroupe.errors import InvalidArgumentType
from tinytroupe.events import EmotionEvent

if TYPE_CHECKING:  # annotations only: the agent builds on the turn protocol
    from tinytroupe.agent.person import TinyPerson


class EmotionComponent(TurnComponent):
    """An agent's PAD emotional state as a turn component (named ``emotions``).

    Args:
        baseline: the resting state (a :class:`PAD` or a ``{pleasure, arousal, dominance}`` mapping);
            default: the persona's ``emotional_baseline``, else its Big Five temperament
            (:mod:`.baseline`), resolved at the first turn.
        initial: the state to start in (default: the baseline).
        settings: ``[Emotions]`` to use (default: the agent's run context's, read at each turn).

    Raises:
        InvalidArgument: a malformed ``baseline`` or ``initial`` (the key is named).
    """

    name = "emotions"
    portable = True

    def __init__(self, *, baseline: PAD | Mapping[str, float] | None = None,
                 initial: PAD | Mapping[str, float] | None = None, settings: EmotionsSettings | None = None) -> None:
        if settings is not None and not isinstance(settings, EmotionsSettings):
            raise InvalidArgumentType(f"settings must be EmotionsSettings, got {type(settings).__name__}")
        self._baseline = explicit_baseline(baseline, "baseline") if baseline is not None else None
        self._initial = explicit_baseline(initial, "initial") if initial is not None else None
        self._settings = settings
        self.state = EmotionalState()
        self._ready = False
        self._turn_start: PAD | None = None  # the state before this turn's decay (what its event's change is from)

    # ---------------------------------------------------------------- state

    def settings_for(self, agent: TinyPerson) -> EmotionsSettings:
        return self._settings if self._settings is not None else agent.context.settings.emotions

    def bind(self, agent: TinyPerson) -> EmotionalState:
        """The state, with the baseline resolved from ``agent``'s persona if not done yet."""
        if not self._ready:
            scale = self.settings_for(agent).baseline_scale
            baseline = self._baseline if self._baseline is not None else baseline_from_persona(agent.persona, scale)
            current = self._initial if self._initial is not None else baseline
            self.state = self.state.model_copy(update={"baseline": baseline, "current": current,
                                                       "updated_at": agent._now()})
            self._ready = True
        return self.state

    def decayed(self, agent: TinyPerson, *, turns: int = 1) -> PAD:
        """The state decayed to ``agent``'s simulated time now (by ``turns`` turns without a clock)."""
        state, params = self.bind(agent), EmotionParams.from_settings(self.settings_for(agent))
        now = agent._now()
        if now is not None and state.updated_at is not None:
            minutes = (now - state.updated_at).total_seconds() / 60.0
            return decay(state.current, state.baseline, minutes, params.half_life_minutes)
        if now is None:
            return decay(state.current, state.baseline, float(turns), params.half_life_turns)
        return state.current

    def move_to(self, agent: TinyPerson, pad: PAD, *, cause: Literal["appraisal", "contagion"],
                before: PAD | None = None, step: int | None = None, world: str | None = None) -> None:
        """Set the state to ``pad`` (now) and publish the change from ``before`` (default: the state now)."""
        before = before if before is not None else self.bind(agent).current
        self.state = self.state.model_copy(update={"current": pad, "updated_at": agent._now()})
        now = agent._now()
        agent._publish(EmotionEvent(
            pleasure=pad.pleasure, arousal=pad.arousal, dominance=pad.dominance, label=pad.label, cause=cause,
            change=tuple(round(x - y, 6) for x, y in zip(pad.as_tuple(), before.as_tuple(), strict=True)),
            agent=agent.name, world=world, step=step, sim_time=now.isoformat() if now else None))

    def get_state(self) -> dict[str, Any]:
        return self.state.to_dict() if self._ready else {}

    def spec_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self._baseline is not None:
            args["baseline"] = self._baseline.model_dump()
        if self._initial is not None:
            args["initial"] = self._initial.model_dump()
        if self._settings is not None:
            args["settings"] = self._settings.model_dump(mode="json")
        return args

    @classmethod
    def from_spec_args(cls, args: Mapping[str, Any]) -> EmotionComponent:
        settings = args.get("settings")
        return cls(baseline=args.get("baseline"), initial=args.get("initial"),
                   settings=EmotionsSettings.model_validate(settings) if settings is not None else None)

    def set_state(self, state: dict[str, Any]) -> None:
        self.state = EmotionalState.parse(state)
        self._ready = True

    # ---------------------------------------------------------------- hooks

    async def perceive(self, turn: Turn) -> None:
        agent = turn.agent
        settings = self.settings_for(agent)
        self._turn_start = self.bind(agent).current
        pad = self.decayed(agent)
        if settings.appraisal == "rule" and turn.view is not None:
            steps = rule_appraisal(turn.view.new)
            if any(steps):
                params = EmotionParams.from_settings(settings)
                pad = apply_change(pad, steps_to_change(steps, params), params)
        self.state = self.state.model_copy(update={"current": pad, "updated_at": agent._now()})

    async def retrieve(self, turn: Turn) -> None:
        agent, view = turn.agent, turn.view
        settings = self.settings_for(agent)
        # A preview shows the state the next turn would start from, without keeping it.
        pad = self.decayed(agent) if turn.preview else self.bind(agent).current
        if settings.congruence_weight:
            turn.notes[MOOD_NOTE] = Mood(pad.as_tuple(), settings.congruence_weight)
        if view is not None and settings.render_in_prompt:
            view.sections[SECTION_TITLE] = feeling_line(pad, self.state.baseline)
        if settings.appraisal == "turn":
            turn.appraisal = True
            if view is not None and APPRAISAL_RULE not in view.extra_rules:
                view.extra_rules = (*view.extra_rules, APPRAISAL_RULE)
        if settings.shape_generation:
            turn.params["temperature"] = temperature_for(pad, base=settings.base_temperature,
                                                         per_arousal=settings.arousal_temperature)

    async def act(self, turn: Turn) -> None:
        agent = turn.agent
        settings = self.settings_for(agent)
        params = EmotionParams.from_settings(settings)
        pad = self.state.current
        steps = answer_steps(turn.batch.cognitive_state) if turn.batch is not None else None
        if settings.appraisal == "turn" and steps is not None and any(steps):
            pad = apply_change(pad, steps_to_change(steps, params), params)
        self.move_to(agent, pad, cause="appraisal", before=self._turn_start, step=turn.step, world=turn.world)
        self._turn_start = None
        self._tag_new_memories(agent, pad, settings.importance_boost)
        self.state = self.state.model_copy(update={"turns": self.state.turns + 1})

    def _tag_new_memories(self, agent: TinyPerson, pad: PAD, boost: float) -> None:
        new = agent.memory.after(self.state.tagged_upto)
        tags = {i.id: pad.as_tuple() for i in new if i.type not in TRIVIAL_TYPES}
        if tags:
            agent.memories.tag_affect(tags, importance_boost=boost)
        if new:
            self.state = self.state.model_copy(update={"tagged_upto": new[-1].id})


def emotions_of(agent: TinyPerson) -> EmotionComponent | None:
    """``agent``'s emotions component, or None."""
    component = agent.get_component(EmotionComponent.name)
    return component if isinstance(component, EmotionComponent) else None


__all__ = ["EmotionComponent", "emotions_of"]
