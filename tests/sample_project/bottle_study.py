"""The code under test of the sample project: a small focus group, as a tinytroupe user writes one.

Nothing here knows about tests: it builds people and a world with no client, so they use whatever
LLM is current (the embedded model, a server, or in tests the ``mock_llm`` fixture).
"""

from __future__ import annotations

from typing import Any

from tinytroupe import TinyPerson, TinyWorld
from tinytroupe.extraction import ResultsExtractor

PEOPLE = {
    "Ana": {"age": 34, "occupation": "nurse working night shifts"},
    "Ben": {"age": 58, "occupation": "retired bus driver"},
}
FIELDS: dict[str, Any] = {
    "rating": {"type": "int", "minimum": 1, "maximum": 10,
               "hint": "how likely the person is to buy the product, 1 to 10"},
    "reason": {"type": "str", "hint": "the main reason they give, in one sentence"},
}


def make_people(names: list[str]) -> list[TinyPerson]:
    people = []
    for name in names:
        person = TinyPerson(name)
        for key, value in PEOPLE.get(name, {}).items():
            person.define(key, value)
        people.append(person)
    return people


def focus_group(product: str, names: list[str], steps: int = 1) -> dict[str, dict[str, Any]]:
    """Each person's rating (1 to 10) of ``product`` and their reason, after talking about it."""
    people = make_people(names)
    world = TinyWorld("Focus room", people, communication_display=False)
    world.broadcast(f"Here is a product idea: {product}. What do you think of it?")
    world.run(steps)
    results = ResultsExtractor().extract_results_from_agents(
        people, extraction_objective=f"Each person's rating of {product} and why.", fields=FIELDS)
    return {person.name: result for person, result in zip(people, results, strict=True)}


def first_reaction(name: str, question: str) -> list[str]:
    """What one person says when asked ``question`` (their TALK actions)."""
    person = make_people([name])[0]
    person.listen_and_act(question, communication_display=False)
    return [action.content for action in person.pop_latest_actions() if action.type == "TALK"]
