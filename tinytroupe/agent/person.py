"""``TinyPerson``: one simulated person who perceives, thinks and acts.

A turn is one LLM call: the agent shows the model its persona, recent memory, situation and new
stimuli, and gets back an :class:`~tinytroupe.agent.actions.ActionBatch` (actions ending in DONE
plus the cognitive state). Each action is remembered, published as an event and left in a buffer
for the world to route.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> reply = {"actions": [{"type": "TALK", "content": "Hi!", "target": "Ana"}, {"type": "DONE"}],
    ...          "cognitive_state": {"goals": "be nice", "context": [], "attention": "Ana", "emotions": "glad"}}
    >>> lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend([reply])))
    >>> [a.type for a in lisa.listen_and_act("Hello Lisa", source="Ana", return_actions=True)]
    ['TALK', 'DONE']
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from tinytroupe.agent.actions import Action, ActionBatch, action_turn_spec
from tinytroupe.agent.memory import MemoryItem
from tinytroupe.agent.person_access import AccessMethods
from tinytroupe.agent.person_core import AgentEnvironment
from tinytroupe.agent.person_distribution import DistributionMethods
from tinytroupe.agent.person_memory_tools import MemoryToolMethods
from tinytroupe.agent.person_perception import PerceptionMethods
from tinytroupe.agent.person_persona import PersonaMethods
from tinytroupe.agent.person_registry import RegistryMethods
from tinytroupe.agent.person_state import StateMethods
from tinytroupe.agent.turn import Turn, TurnComponent, TurnPhase, run_hooks, takes_part
from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument
from tinytroupe.events import ActionEvent, WarningEvent

logger = logging.getLogger(__name__)


class TinyPerson(PersonaMethods, AccessMethods, MemoryToolMethods, StateMethods, RegistryMethods, PerceptionMethods,
                 DistributionMethods):
    """A simulated person.

    Besides what is here (acting), a TinyPerson is made of the parts it inherits, one module each:
    :class:`~tinytroupe.agent.person_core.PersonCore` (state, wiring, faculties), ``person_persona``
    (``define``, ``get``, ``+ fragment``, relationships), ``person_access`` (whom it can reach),
    ``person_prompt`` (what a turn shows the model), ``person_memory`` (TinyTroupe's memory API,
    ``pp_current_interactions``), ``person_memory_tools`` (a summary over the whole memory,
    ``optimize_memory``), ``person_state`` (specifications, ``to_state``/``load_state``),
    ``person_registry`` (TinyTroupe's class-level lookups), ``person_perception`` (``listen``,
    ``see``, ``read_document_from_file`` ...), ``person_display`` (``communication_display``) and
    ``person_distribution`` (``ask_distribution``: the probability of each option of a question).

    The first six parameters are TinyTroupe 0.6.0's, in its order; ours follow, keyword-only.

    Args:
        name: unique within a world.
        action_generator: accepted for TinyTroupe scripts; it has no effect here (a warning says so).
        episodic_memory: an :class:`~tinytroupe.agent.memory.EpisodicMemory` to use (default: a bounded
            one from ``[Memory]``).
        semantic_memory: a :class:`~tinytroupe.agent.memory.SemanticMemory` to use; its facts are
            indexed for retrieval.
        mental_faculties: faculties to add (see :meth:`add_mental_faculty`).
        enable_basic_action_repetition_prevention: leave out, within a turn, an action that repeats an
            earlier one of the same type and target (content similarity above
            :attr:`MAX_ACTION_SIMILARITY`); a ``action_repeated`` warning event says what was left out.
        persona: a :class:`Persona`, or a dict of persona fields (``name`` is filled in).
        client: the LLM client for this agent's turns (default: its run context's; see :attr:`context`).
        max_actions_per_turn: actions before the closing DONE that one turn may hold.
        recent_window: how many past events each prompt shows at least (all of them while there are fewer).
        recent_window_step: how many past events the recent window drops at once when it is full
            (it then shows up to ``recent_window + recent_window_step - 1`` events); with 1 it moves on
            by one event with each new event. A larger step lets consecutive prompts share their recent
            events, a prefix the provider's cache reuses. Default: ``[Cognition] RECENT_WINDOW_STEP``,
            else half of ``recent_window`` (at least 1).
        prompt_token_budget: estimated tokens for the variable prompt sections together.
        context: the :class:`~tinytroupe.context.RunContext` to act in (default: its world's once it
            joins one, else the current one: a running simulation's or the default).

    Arguments left as None take their value from the run context's settings
    (``[Simulation] MAX_ACTIONS_PER_TURN``, ``[Cognition] RECENT_WINDOW``, ``RECENT_WINDOW_STEP``,
    ``PROMPT_TOKEN_BUDGET``, ``MAX_CONTENT_DISPLAY_LENGTH``).

    Raises:
        InvalidArgument: the name is empty, ``recent_window_step`` is below 1, or a faculty cannot be added
            (see :meth:`add_mental_faculty`).
        InvalidArgumentType: ``episodic_memory`` or ``semantic_memory`` is not one of ours.
        ScenarioError: ``persona`` is not a valid persona.

    Example:
        >>> TinyPerson("Zoe", None, None, None, None, False).enable_basic_action_repetition_prevention
        False
    """

    # ------------------------------------------------------------------ acting

    async def aact(self, until_done: bool = True, n: int | None = None, return_actions: bool = False,
                   max_content_length: int | None = None,
                   communication_display: bool | None = None) -> list[Action] | None:
        """Take one turn: one LLM call, then commit its actions. Async twin of :meth:`act`.

        ``n`` caps the number of actions (before DONE) taken this turn; with ``until_done=False``
        and no ``n`` only the first action is taken. ``max_content_length`` and
        ``communication_display`` are about display only (see :meth:`act`).

        Raises:
            InvalidArgument: ``n`` is not between 1 and 15.
            LLMTransportError: the model server could not be reached (after the client's retries).
            LLMOutputError: the model's answers stayed invalid after the re-asks; nothing was committed.
            LLMError: both carry this agent's name, its world and the purpose ``"action"``.
            PoorQualityActionError: with ``[ActionGenerator]`` quality checks on and ``CONTINUE_ON_FAILURE``
                off, no attempt at the actions passed them; nothing was committed.
        """
        if n is not None and not 1 <= n <= 15:
            raise InvalidArgument(f"n must be between 1 and 15 actions, got {n}")
        limit = n if n is not None else (self.max_actions_per_turn if until_done else 1)
        with self._displaying(communication_display, max_content_length):
            async with self._turn_lock():
                context = self.context  # looked up once: it walks the world's and the current context
                turn = await self._aprepare_turn(context.client.for_caller(context.bus),  # as caller_client
                                                 context=context)  # perceive, retrieve
                spec = turn.spec = action_turn_spec(self.actions_registry.types, self.max_actions_per_turn,
                                                    self._content_chars(), targets=self.target_choices(),
                                                    typed_arguments=self._typed_arguments(),
                                                    appraisal=turn.appraisal, citable=self._citable_ids())
                result = await turn.client.acomplete(turn.messages, response_model=spec.model,
                                                     response_schema=spec.schema, validation_context=spec.context,
                                                     purpose="action", agent=self.name, world=turn.world,
                                                     step=turn.step, **turn.params)
                turn.batch = _batch_of(result.value)
                components = self._components  # never changed in place (add/remove assign a new list): no copy
                await run_hooks(components, TurnPhase.DECIDE, turn)
                turn.actions = self._commit(turn.batch.normalised(limit), turn.seen_upto, turn.recent_from)
                await run_hooks(components, TurnPhase.ACT, turn)
                await self._maintain(components, turn)
                committed = turn.actions
        return committed if return_actions else None

    async def _maintain(self, components: list[TurnComponent], turn: Turn) -> None:
        # The turn's actions happened: a failing upkeep is a warning, never a failed turn.
        for component in components:
            if not takes_part(component, TurnPhase.MAINTAIN):
                continue
            try:
                await component.maintain(turn)
            except Exception as exc:
                message = f"{self.name}: the {component.name!r} component's upkeep failed: {type(exc).__name__}: {exc}"
                logger.warning("%s", message)
                self._publish(WarningEvent(code="component_failed", message=message, agent=self.name,
                                           world=turn.world, step=turn.step, data={"component": component.name}))

    def _commit(self, batch: ActionBatch, seen_upto: int, recent_from: int) -> list[Action]:
        now, step, world = self._now(), self._step(), self._world_name()
        sim_time, name = now.isoformat() if now else None, self.name
        with self._lock:
            self._seen_upto = max(self._seen_upto, seen_upto)
            self._recent_from = recent_from  # where the next prompt's recent window slides from
            # aact hands over a batch it just built and keeps no reference to: take its state as is.
            self.cognitive_state = batch.cognitive_state
            memory, buffer, publish = self.memory, self._actions_buffer, self._publish  # the same for each action
            for action in batch.actions:
                target = action.target.strip() or None
                memory.add(kind="action", type=action.type, content=action.content, target=target,
                           sim_time=now, step=step)
                buffer.append(action)
                publish(ActionEvent(action_type=action.type, content=action.content, target=target,
                                    agent=name, world=world, step=step, sim_time=sim_time))
            self.turns += 1
            return list(batch.actions)

    def act(self, until_done: bool = True, n: int | None = None, return_actions: bool = False,
            max_content_length: int | None = None, communication_display: bool | None = None) -> list[Action] | None:
        """Take one turn (TinyTroupe's signature; see :meth:`aact`).

        With ``return_actions`` the turn's actions come back as :class:`Action` objects, ending in DONE.
        ``communication_display`` prints the turn's actions for this call (None: the class switch
        :attr:`communication_display`, off by default); an agent in a world is shown by its world
        instead. ``max_content_length`` cuts what is printed (None: ``[Cognition]
        MAX_CONTENT_DISPLAY_LENGTH``); what is remembered and returned is never cut.

        Raises:
            InvalidState: called from a coroutine on tinytroupe's event loop (await :meth:`aact`);
                otherwise as :meth:`aact`.

        Example:
            >>> from tinytroupe.llm import LLMClient, ScriptedBackend
            >>> reply = {"actions": [{"type": "THINK", "content": "Is it tea time?"}, {"type": "DONE"}]}
            >>> lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend([reply])))
            >>> [a.type for a in lisa.act(False, 1, True, 10, True)]
            Lisa thinks: Is it tea…
            ['THINK', 'DONE']
        """
        return run_sync(self.aact(until_done, n, return_actions, max_content_length, communication_display))

    def listen_and_act(self, speech: str, return_actions: bool = False, max_content_length: int | None = None,
                       communication_display: bool | None = None, *,
                       source: TinyPerson | str | None = None) -> list[Action] | None:
        """:meth:`listen` then :meth:`act` (TinyTroupe's signature; ``source=`` is ours, keyword-only).

        Raises:
            InvalidArgumentType: ``speech`` is not text; otherwise as :meth:`act`.
        """
        self.listen(speech, source, max_content_length, communication_display)
        return self.act(return_actions=return_actions, max_content_length=max_content_length,
                        communication_display=communication_display)

    def see_and_act(self, visual_description: str, return_actions: bool = False,
                    max_content_length: int | None = None, communication_display: bool | None = None, *,
                    source: TinyPerson | str | None = None) -> list[Action] | None:
        """:meth:`see` then :meth:`act` (TinyTroupe's signature, plus ``communication_display`` and ``source=``)."""
        self.see(visual_description, source, max_content_length, communication_display)
        return self.act(return_actions=return_actions, max_content_length=max_content_length,
                        communication_display=communication_display)

    def think_and_act(self, thought: str, return_actions: bool = False, max_content_length: int | None = None,
                      communication_display: bool | None = None) -> list[Action] | None:
        """:meth:`think` then :meth:`act` (TinyTroupe's signature, plus ``communication_display``)."""
        self.think(thought, max_content_length, communication_display)
        return self.act(return_actions=return_actions, max_content_length=max_content_length,
                        communication_display=communication_display)

    def pop_latest_actions(self) -> list[Action]:
        """The actions taken since the last pop (the world routes them)."""
        with self._lock:
            actions, self._actions_buffer = self._actions_buffer, []
        return actions

    def pop_actions_and_get_contents_for(self, action_type: str, only_last_action: bool = True) -> str:
        """Contents of popped actions of ``action_type`` (the last one, or all joined by newlines)."""
        contents = [a.content for a in self.pop_latest_actions() if a.type == action_type]
        if only_last_action:
            return contents[-1] if contents else ""
        return "\n".join(contents)

    def last_remembered_action(self, ignore_done: bool = True) -> MemoryItem | None:
        for item in reversed(self.memory.items()):
            if item.kind == "action" and not (ignore_done and item.type == "DONE"):
                return item
        return None


def _batch_of(answer: BaseModel) -> ActionBatch:
    """The :class:`ActionBatch` of a turn's validated answer (an instance of its spec's model), validated
    again as one: the fields of each part as they are (the validation copies them), not dumped first."""
    actions = [a.__dict__ for a in answer.actions]  # type: ignore[attr-defined]
    return ActionBatch.model_validate({"actions": actions,
                                       "cognitive_state": answer.cognitive_state.__dict__})  # type: ignore[attr-defined]


__all__ = ["AgentEnvironment", "TinyPerson"]
