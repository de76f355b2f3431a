"""``Intervention``: when something holds of some agents or worlds, do something to them.

TinyTroupe's class, with its constructor and chainable setters. Preconditions are ANDed:

* textual: a statement a language model judges against the targets' recent trajectories (a
  :class:`~tinytroupe.experimentation.Proposition` checked over the ``first_n``/``last_n`` window: one
  LLM call per check, through the targets' client);
* functional: ``func(targets) -> bool``;
* propositional: a :class:`~tinytroupe.experimentation.Proposition` (or any object with
  ``check(target=...)``, and ``score(target=...)`` when a threshold is given: the precondition then
  holds while the score stays *below* the threshold, as in TinyTroupe). A proposition made without
  targets is judged on the intervention's; one with its own targets, on those. Its async twins
  (``acheck``/``ascore``) are used when it has them, so a world can check it inside its step.

With none set, the precondition holds. ``effect(targets)`` runs when the precondition holds.
``targets`` is what was given: one agent or world, or a list.

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> lisa = TinyPerson("Lisa")
    >>> nudge = (Intervention(lisa, name="nudge")
    ...          .set_functional_precondition(lambda target: len(target.memory) == 0)
    ...          .set_effect(lambda target: target.think("I should say something.")))
    >>> nudge.execute(), nudge.execute()
    (True, False)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from tinytroupe.agent.judging import PropositionCheck
from tinytroupe.aio import run_sync
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument
from tinytroupe.experimentation.proposition import Proposition
from tinytroupe.llm.client import LLMClient
from tinytroupe.steering.trajectory import (
    Targets,
    as_target_list,
)

DEFAULT_FIRST_N = 10
DEFAULT_LAST_N = 100



#: the model's verdict on a textual precondition (a proposition's check; the earlier name)
PreconditionCheck = PropositionCheck


class PropositionLike(Protocol):
    """What :meth:`Intervention.set_propositional_precondition` needs (TinyTroupe's ``Proposition``)."""

    def check(self, *args: Any, **kwargs: Any) -> Any: ...

    def score(self, *args: Any, **kwargs: Any) -> Any: ...


class Intervention:
    """An effect applied to ``targets`` when the preconditions hold.

    Args:
        targets: a :class:`TinyPerson` or :class:`TinyWorld`, or a list of them; preconditions and the
            effect receive it as given.
        first_n, last_n: how much of each target's trajectory the textual precondition shows the model
            (the first and the last events).
        name: shown when the intervention fires (default: from the targets' names).
        client: the LLM client for the textual precondition (default: the first target's).
    """

    def __init__(self, targets: Targets, first_n: int | None = DEFAULT_FIRST_N,
                 last_n: int | None = DEFAULT_LAST_N, name: str | None = None, *,
                 client: LLMClient | None = None) -> None:
        self._targets = as_target_list(targets)
        self.targets = targets
        self.first_n = first_n
        self.last_n = last_n
        self.name = name or "Intervention on " + ", ".join(t.name for t in self._targets)
        self.client = client
        self.text_precondition: str | None = None
        self.precondition_func: Callable[[Any], bool] | None = None
        self.propositional_precondition: PropositionLike | None = None
        self.propositional_precondition_threshold: float | None = None
        self.effect_func: Callable[[Any], Any] | None = None
        self._last_text_check: PreconditionCheck | None = None
        self._last_functional_check: bool | None = None
        self._last_propositional_check: bool | None = None

    def __repr__(self) -> str:
        return f"Intervention(name={self.name!r})"

    @classmethod
    def create_for_each(cls, targets: Targets, first_n: int | None = DEFAULT_FIRST_N,
                        last_n: int | None = DEFAULT_LAST_N, name: str | None = None) -> InterventionBatch:
        """One intervention per target (named ``name_0``, ``name_1``, ... when ``name`` is given),
        configured together through the returned :class:`InterventionBatch`.

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> batch = Intervention.create_for_each([TinyPerson("Ana"), TinyPerson("Ben")], name="calm")
            >>> [i.name for i in batch.set_effect(lambda agent: agent.think("Breathe."))]
            ['calm_0', 'calm_1']
        """
        return InterventionBatch([cls(t, first_n=first_n, last_n=last_n, name=f"{name}_{i}" if name else None)
                                  for i, t in enumerate(as_target_list(targets))])

    # ------------------------------------------------------------------ flow

    def __call__(self) -> bool:
        return self.execute()

    def execute(self) -> bool:
        """Apply the effect if the precondition holds; True when it was applied."""
        if self.check_precondition():
            self.apply_effect()
            return True
        return False

    async def aexecute(self) -> bool:
        """Async twin of :meth:`execute`."""
        if await self.acheck_precondition():
            self.apply_effect()
            return True
        return False

    async def acheck_precondition(self, world: TinyWorld | None = None) -> bool:
        """Async twin of :meth:`check_precondition` (a world awaits this one inside its step)."""
        text_ok = True
        self._last_text_check = None
        if self.text_precondition is not None:
            self._last_text_check = await self._ajudge(self.text_precondition)
            text_ok = self._last_text_check.value
        self._last_functional_check = True
        if self.precondition_func is not None:
            self._last_functional_check = bool(self.precondition_func(self.targets))
        self._last_propositional_check = True
        if self.propositional_precondition is not None:
            self._last_propositional_check = await self._apropositional()
        return text_ok and self._last_functional_check and self._last_propositional_check

    async def _apropositional(self) -> bool:
        prop = self.propositional_precondition
        assert prop is not None  # checked by the caller
        # A proposition with targets of its own is judged on those (TinyTroupe's refuses a second set).
        kwargs: dict[str, Any] = {} if getattr(prop, "targets", None) else {"target": self.targets}
        threshold = self.propositional_precondition_threshold
        name = "score" if threshold is not None else "check"
        twin = getattr(prop, "a" + name, None)
        value = await twin(**kwargs) if inspect.iscoroutinefunction(twin) else getattr(prop, name)(**kwargs)
        return bool(value < threshold) if threshold is not None else bool(value)

    def check_precondition(self, world: TinyWorld | None = None) -> bool:
        """Whether every precondition set holds now (``world``: accepted from worlds, not needed)."""
        return run_sync(self.acheck_precondition(world))

    def apply_effect(self, world: TinyWorld | None = None) -> None:
        """Run the effect on the targets, without checking the precondition.

        Raises:
            ValueError: no effect was set.
        """
        if self.effect_func is None:
            raise InvalidArgument(f"{self.name} has no effect; call set_effect(func) first")
        self.effect_func(self.targets)

    # ------------------------------------------------------------------ textual precondition

    def _client(self) -> LLMClient:
        return self.client if self.client is not None else self._targets[0].client

    async def _ajudge(self, statement: str) -> PropositionCheck:
        prop = Proposition(statement, self._targets, first_n=self.first_n, last_n=self.last_n, client=self._client())
        full = await prop.acheck(return_full_response=True)
        assert isinstance(full, dict)  # return_full_response=True
        return PropositionCheck.model_validate(full)

    # ------------------------------------------------------------------ setters (chainable)

    def set_textual_precondition(self, text: str) -> Intervention:
        """A statement a language model must judge true of the targets' trajectories."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("a textual precondition is a non-empty statement")
        self.text_precondition = text
        return self

    def set_functional_precondition(self, func: Callable[[Any], bool]) -> Intervention:
        """``func(targets) -> bool``."""
        self.precondition_func = func
        return self

    def set_propositional_precondition(self, proposition: PropositionLike,
                                       threshold: float | None = None) -> Intervention:
        """``proposition.check(target=targets)`` must hold; with ``threshold``,
        ``proposition.score(target=targets)`` must stay below it."""
        self.propositional_precondition = proposition
        self.propositional_precondition_threshold = threshold
        return self

    def set_effect(self, effect_func: Callable[[Any], Any]) -> Intervention:
        """``effect_func(targets)``, run when the precondition holds."""
        self.effect_func = effect_func
        return self

    # ------------------------------------------------------------------ inspection

    def precondition_justification(self) -> str:
        """Why the last check came out as it did (the model's justification for a textual precondition)."""
        parts: list[str] = []
        if self._last_text_check is not None:
            c = self._last_text_check
            parts.append(f"{c.justification} (confidence = {c.confidence:.2f})")
        if self.precondition_func is not None and self._last_functional_check is not None:
            parts.append("Functional precondition was met." if self._last_functional_check
                         else "Functional precondition was not met.")
        if self.propositional_precondition is not None and self._last_propositional_check is not None:
            parts.append("Propositional precondition was met." if self._last_propositional_check
                         else "Propositional precondition was not met.")
        if not parts:
            parts.append("No precondition was set, so it holds." if self._last_functional_check
                         else "The precondition has not been checked yet.")
        return "\n".join(parts)


class InterventionBatch:
    """Several interventions configured at once (what :meth:`Intervention.create_for_each` returns);
    iterate it, or pass :meth:`as_list` to ``TinyWorld(interventions=...)``."""

    def __init__(self, interventions: Sequence[Intervention]) -> None:
        self.interventions = list(interventions)

    def __iter__(self) -> Iterator[Intervention]:
        return iter(self.interventions)

    def __len__(self) -> int:
        return len(self.interventions)

    def set_textual_precondition(self, text: str) -> InterventionBatch:
        for i in self.interventions:
            i.set_textual_precondition(text)
        return self

    def set_functional_precondition(self, func: Callable[[Any], bool]) -> InterventionBatch:
        for i in self.interventions:
            i.set_functional_precondition(func)
        return self

    def set_propositional_precondition(self, proposition: PropositionLike,
                                       threshold: float | None = None) -> InterventionBatch:
        for i in self.interventions:
            i.set_propositional_precondition(proposition, threshold)
        return self

    def set_effect(self, effect_func: Callable[[Any], Any]) -> InterventionBatch:
        for i in self.interventions:
            i.set_effect(effect_func)
        return self

    def as_list(self) -> list[Intervention]:
        return list(self.interventions)


__all__ = ["DEFAULT_FIRST_N", "DEFAULT_LAST_N", "Intervention", "InterventionBatch", "PreconditionCheck",
           "PropositionLike"]
