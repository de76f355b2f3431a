"""Interventions: what may change a world at the start of each step, in TinyTroupe's shapes (objects
with ``check_precondition``/``apply_effect``, with or without the world as argument, or plain callables).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from tinytroupe.errors import InvalidArgumentType

if TYPE_CHECKING:
    from tinytroupe.environment.world import TinyWorld


class Intervention(Protocol):
    """Something that may change the world at the start of a step (TinyTroupe's shape).

    The world passes itself to each method that takes an argument; TinyTroupe's argument-less
    ``check_precondition()``/``apply_effect()`` (e.g. :class:`tinytroupe.steering.Intervention`, which
    knows its targets) are called without it.
    """

    def check_precondition(self, world: TinyWorld) -> bool: ...

    def apply_effect(self, world: TinyWorld) -> None: ...


class ArgumentlessIntervention(Protocol):
    """TinyTroupe's own interventions: they know their targets, so their methods take no argument."""

    def check_precondition(self) -> bool: ...

    def apply_effect(self) -> None: ...


InterventionLike = Intervention | ArgumentlessIntervention | Callable[["TinyWorld"], Any]


async def apply_interventions(world: TinyWorld, interventions: Iterable[InterventionLike],
                              on_applied: Callable[[object], None]) -> None:
    """Evaluate each intervention on ``world`` and apply those whose precondition holds; ``on_applied``
    hears of each one applied (callables are always applied and not reported)."""
    # An intervention whose precondition asks a model (tinytroupe.steering.Intervention) offers an
    # async twin: awaited here, on the loop running this step, where a sync LLM call cannot run.
    for intervention in interventions:
        acheck = getattr(intervention, "acheck_precondition", None)
        check = getattr(intervention, "check_precondition", None)
        apply = getattr(intervention, "apply_effect", None)
        if (acheck is not None or check is not None) and apply is not None:
            ok = (await _call_with_world(acheck, world) if acheck is not None
                  else _call_with_world(check, world))  # type: ignore[arg-type]
            if ok:
                _call_with_world(apply, world)
                on_applied(intervention)
        elif callable(intervention):
            intervention(world)
        else:
            raise InvalidArgumentType(f"intervention {intervention!r} is neither callable nor has "
                                      "check_precondition/apply_effect")


def _call_with_world(method: Callable[..., Any], world: TinyWorld) -> Any:
    """Call an intervention's method with the world when it takes an argument (ours), else without
    (TinyTroupe's, which know their targets)."""
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature: give them the world
        return method(world)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    return method(world) if positional else method()


__all__ = ["ArgumentlessIntervention", "Intervention", "InterventionLike", "apply_interventions"]
