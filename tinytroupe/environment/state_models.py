"""A world's state as a model: :class:`WorldState` (clock, step, random generator, options, errors,
metrics and its agents' :class:`~tinytroupe.agent.state_models.AgentState` s) and
:class:`SocialNetworkState`, which adds the relations of a
:class:`~tinytroupe.environment.social_network.TinySocialNetwork`.

``TinyWorld.state_model()`` produces one and ``TinyWorld.apply_state()`` takes it back; ``to_state()``
is its ``to_dict()``. :data:`AnyWorldState` reads either from a dict (a network's has ``relations``), as
a checkpoint holding several worlds needs.

Example:
    >>> from pydantic import TypeAdapter
    >>> data = {"kind": "TinySocialNetwork", "name": "Office", "datetime": "2025-01-06T09:00:00", "step": 2,
    ...         "broadcast_if_no_target": True, "random_state": [3, [1, 2], None],
    ...         "relations": [["Ana", "Ben", "colleagues"]]}
    >>> state = TypeAdapter(AnyWorldState).validate_python(data)
    >>> type(state).__name__, state.relations, state.agents is None
    ('SocialNetworkState', [('Ana', 'Ben', 'colleagues')], True)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Discriminator, Field, Tag

from tinytroupe.agent.state_models import AgentState
from tinytroupe.state import StateModel


class WorldState(StateModel):
    """A :class:`~tinytroupe.environment.TinyWorld` as data.

    ``random_state`` is Python's ``random.getstate()`` as JSON (``[version, [internal...], gauss]``).
    ``errors`` and ``step_metrics`` are the world's records as their ``as_dict()`` gives them. Options
    missing from older states (None) keep the world's own. ``agents`` is None when the state was taken
    without them. ``extensions`` holds what a specialised world adds (a spatial world's positions, a
    store's carts), one JSON-ready dict per part, read back by that world's ``apply_state``.
    """

    omit_when: ClassVar[dict[str, Any]] = {"agents": None, "extensions": {}}

    kind: str = "TinyWorld"
    name: str
    datetime: datetime
    step: int
    agent_names: list[str] = Field(default_factory=list)
    broadcast_if_no_target: bool
    seed: int | None = None
    parallelize: bool | None = None
    max_workers: int | None = None
    agent_timeout: float | None = None
    on_agent_error: str | None = None
    random_state: tuple[int, list[int], float | None]
    errors: list[dict[str, Any]] = Field(default_factory=list)
    step_metrics: list[dict[str, Any]] = Field(default_factory=list)
    agents: list[AgentState] | None = None
    extensions: dict[str, dict[str, Any]] = Field(default_factory=dict)


class SocialNetworkState(WorldState):
    """A :class:`~tinytroupe.environment.social_network.TinySocialNetwork` as data: a world's state plus
    its relations as sorted ``(agent, agent, relation name)`` triples."""

    kind: str = "TinySocialNetwork"
    relations: list[tuple[str, str, str]] = Field(default_factory=list)


def _world_kind(value: Any) -> str:
    has_relations = "relations" in value if isinstance(value, dict) else isinstance(value, SocialNetworkState)
    return "network" if has_relations else "world"


#: a world's or a social network's state, told apart by the relations only a network has
AnyWorldState = Annotated[Annotated[SocialNetworkState, Tag("network")] | Annotated[WorldState, Tag("world")],
                          Discriminator(_world_kind)]

__all__ = ["AnyWorldState", "SocialNetworkState", "WorldState"]
