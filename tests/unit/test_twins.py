"""Sync/async twins (``x`` / ``ax``) must not drift: same parameters, same kinds, same defaults."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

import tinytroupe


def _public_classes() -> Iterator[type]:
    for info in pkgutil.walk_packages(tinytroupe.__path__, "tinytroupe."):
        module = importlib.import_module(info.name)  # one of ours failing to import is a failure
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__ and not name.startswith("_"):
                yield obj


def _members(cls: type) -> dict[str, object]:
    """The class's own members and those it inherits from our classes (a facade built of parts has its
    twins in the parts), nearest definition first."""
    members: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("tinytroupe."):
            members.update(vars(klass))
    return members


def _twins() -> list[tuple[type, str, str]]:
    pairs = []
    for cls in _public_classes():
        for name, member in _members(cls).items():
            if (name.startswith("a") and inspect.iscoroutinefunction(member)
                    and callable(getattr(cls, name[1:], None)) and not name.startswith("_")):
                pairs.append((cls, name[1:], name))
    return pairs


def _shape(func: object) -> list[tuple[str, object, object, object]]:
    params = inspect.signature(func).parameters.values()  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default, p.annotation) for p in params]


def test_the_public_twins_are_found() -> None:
    found = {f"{cls.__name__}.{sync}" for cls, sync, _ in _twins()}
    # A few that must be there, so a broken finder cannot pass by finding nothing.
    assert {"TinyPerson.act", "TinyWorld.run", "LLMClient.complete", "AgentMemory.recall_text",
            "ResultsExtractor.extract_results_from_agents"} <= found


def test_every_sync_async_twin_takes_the_same_parameters_and_defaults() -> None:
    drifted = []
    for cls, sync, asyn in _twins():
        if _shape(getattr(cls, sync)) != _shape(getattr(cls, asyn)):
            drifted.append(f"{cls.__module__}.{cls.__name__}: {sync}{inspect.signature(getattr(cls, sync))} "
                           f"vs {asyn}{inspect.signature(getattr(cls, asyn))}")
    assert not drifted, "sync and async twins differ:\n" + "\n".join(drifted)
