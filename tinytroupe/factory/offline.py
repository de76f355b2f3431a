"""Factories without a model: a scripted stand-in that answers a factory's calls, for tests, demos,
documentation and benchmarks.

:class:`OfflinePopulationModel` answers the plan call with a fixed plan and each persona call with a
complete persona that agrees with the characteristics in the prompt, named from a table of first
and last names by a hash of the request (so the same request always gets the same person, and
different people sometimes draw the same name, as a real model's do: the factory's clash handling
runs too). Its content means nothing; use a real model for people worth reading.

Example:
    >>> from tinytroupe.factory import TinyPersonFactory
    >>> from tinytroupe.llm import LLMClient
    >>> factory = TinyPersonFactory("Commuters in Lisbon", client=LLMClient(offline_backend()), seed=3)
    >>> [p.name for p in factory.generate_people(2)]
    ['Ingrid Tanaka', 'Marta Varga']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tinytroupe.factory.names import FEMALE_NAMES, LAST_NAMES, MALE_NAMES
from tinytroupe.factory.persona_schema import example_persona
from tinytroupe.llm.scripted import ScriptedBackend
from tinytroupe.llm.types import LLMRequest

#: the plan :class:`OfflinePopulationModel` answers with when given none
DEFAULT_PLAN: dict[str, Any] = {"dimensions": [
    {"name": "gender", "description": "the person's gender", "range": None,
     "values": [{"value": "female", "weight": 0.51}, {"value": "male", "weight": 0.49}]},
    {"name": "age", "description": "age in years", "values": [], "range": {"min": 18, "max": 85, "integer": True}},
    {"name": "occupation", "description": "what they do", "range": None,
     "values": [{"value": v, "weight": w} for v, w in (("teacher", 3), ("nurse", 3), ("engineer", 2), ("retired", 4),
                                                       ("student", 2), ("shop owner", 1))]},
]}
_FACT = re.compile(r"^- ([^:\n]+): (.+)$", re.M)


def _text(messages: Sequence[Any]) -> str:
    parts = [m.content if hasattr(m, "content") else str(m.get("content", "")) for m in messages]
    return "\n".join(parts)


class OfflinePopulationModel:
    """A callable for :class:`~tinytroupe.llm.scripted.ScriptedBackend` answering a factory's calls
    (see the module docstring); :meth:`answer` takes plain messages and a schema name, for servers.

    Args:
        plan: the plan call's answer (``{"dimensions": [...]}`` in the shape the factory asks for;
            default :data:`DEFAULT_PLAN`).
        salt: mixed into every hash, to get another population from the same requests.
    """

    def __init__(self, plan: Mapping[str, Any] | None = None, *, salt: str = "") -> None:
        self.plan = dict(plan) if plan is not None else DEFAULT_PLAN
        self.salt = salt

    def __call__(self, request: LLMRequest) -> dict[str, Any]:
        return self.answer(request.messages, request.schema_name)

    def answer(self, messages: Sequence[Any], schema_name: str | None) -> dict[str, Any]:
        """The answer to a factory request whose messages are ``messages`` (objects with ``content`` or
        dicts) and whose answer schema is named ``schema_name``."""
        if schema_name == "PlanAnswer":
            return dict(self.plan)
        text = _text(messages)
        digest = hashlib.sha256((self.salt + text).encode()).digest()
        facts = {k.strip().casefold(): v.strip() for k, v in _FACT.findall(text)}
        gender = facts.get("gender", facts.get("sex", "female" if digest[0] % 2 else "male"))
        first = FEMALE_NAMES if gender.casefold().startswith(("f", "w")) else MALE_NAMES
        # the name and three alternatives, each from two bytes of the hash
        names = [f"{first[digest[k] % len(first)]} {LAST_NAMES[digest[k + 1] % len(LAST_NAMES)]}"
                 for k in (1, 9, 11, 13)]
        age = int(facts["age"]) if facts.get("age", "").isdigit() else 20 + digest[3] % 60
        number = re.search(r"Person (\d+) of the population", text)
        return example_persona(
            names[0], age, gender=gender, alternative_names=names[1:],
            occupation={"title": facts.get("occupation", "Clerk"), "organization": "A local firm",
                        "description": "Ordinary days."},
            other_facts=[f"Person {number.group(1) if number else '?'} of the population.",
                         f"Lucky number {int.from_bytes(digest[4:8], 'big') % 1000}."])


def offline_backend(plan: Mapping[str, Any] | None = None, *, salt: str = "",
                    latency_s: float = 0.0) -> ScriptedBackend:
    """A :class:`ScriptedBackend` answering a factory's calls with :class:`OfflinePopulationModel`."""
    return ScriptedBackend(OfflinePopulationModel(plan, salt=salt), latency_s=latency_s, model="offline-population")


__all__ = ["DEFAULT_PLAN", "FEMALE_NAMES", "LAST_NAMES", "MALE_NAMES", "OfflinePopulationModel", "offline_backend"]
