"""The full-scan memory summary's budget keeps what the agent knows next to its newest episodes."""

from __future__ import annotations

from typing import Any

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.person_memory_tools import summary_within_budget
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend


def test_facts_are_not_pushed_out_by_a_long_history() -> None:
    prompts: list[str] = []

    def respond(request: LLMRequest) -> Any:
        prompts.append(request.messages[-1].content)
        return {"summary": "ok"}

    lisa = TinyPerson("Lisa", client=LLMClient(ScriptedBackend(respond)))
    lisa.memories.semantic.add("Ben is Lisa's brother")
    lisa.prompt_token_budget = 40  # about 160 characters
    for i in range(20):
        lisa.listen(f"Message number {i}", "Ben")
    lisa.summarize_relevant_memories_via_full_scan("Ben")
    assert "Ben is Lisa's brother" in prompts[-1]
    assert "Message number 19" in prompts[-1] and "Message number 0" not in prompts[-1]


def test_an_oversized_line_is_skipped_not_the_end() -> None:
    episodes = ["old one", "x" * 500, "new one"]
    assert summary_within_budget([], episodes, 100) == ["old one", "new one"]
    assert summary_within_budget(["y" * 500, "(fact) short"], [], 100) == ["(fact) short"]


def test_each_side_gets_what_the_other_leaves() -> None:
    facts = [f"(fact) number {i}" for i in range(10)]  # 16 characters each, with the newline 17
    assert summary_within_budget(facts, [], 17 * 10) == facts  # no episodes: the whole budget
    assert summary_within_budget([], facts, 17 * 10) == facts
    kept = summary_within_budget(facts, ["e1", "e2"], 17 * 6)
    assert kept[-2:] == ["e1", "e2"] and kept[:4] == facts[:4]
