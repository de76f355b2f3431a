"""The action prompt: content, section order, and staying within the token budget."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from helpers import START, turn

from tinytroupe.agent import CognitiveState, MemoryItem, TinyPerson
from tinytroupe.agent.cognition import (
    PromptBudget,
    TurnView,
    build_action_messages,
    estimate_tokens,
    fit_lines,
    fit_names,
    fit_text,
)
from tinytroupe.environment import TinyWorld
from tinytroupe.examples import load_example_persona
from tinytroupe.llm import LLMClient, Message, ScriptedBackend

SECTIONS = ["You are playing a person", "# Who you are", "# Recent events", "# Your situation now",
            "# New since your last turn", "Now act as"]


def prompt_text(messages: Sequence[Message]) -> str:
    return "\n".join(m.content for m in messages)


def prompt_tokens(messages: Sequence[Message]) -> int:
    return sum(estimate_tokens(m.content) for m in messages)


def offline() -> LLMClient:
    """A client that is never called: it only keeps agents off the configured default client."""
    return LLMClient(ScriptedBackend([]))


def lisa(**kwargs: Any) -> TinyPerson:
    kwargs.setdefault("client", offline())
    return TinyPerson("Lisa", persona=load_example_persona("lisa"), **kwargs)


def test_prompt_holds_persona_state_recent_and_new_stimuli_in_order() -> None:
    backend = ScriptedBackend([turn(("TALK", "I think it is too expensive", "Oscar"),
                                    goals="judge the bottle", attention="the price", emotions="curious",
                                    context=["focus group"])])
    agent = lisa(client=LLMClient(backend))
    world = TinyWorld("Focus room", [agent], initial_datetime=START, client=agent.client)
    agent.listen("What do you think of the bottle?", source="Oscar")
    agent.act()
    agent.listen("It costs 45 euros.", source="Oscar")
    agent.move_to("the meeting room")
    agent.make_agent_accessible(TinyPerson("Oscar"), "fellow participant")
    world.skip(1)

    messages = agent.build_prompt()
    assert [m.role for m in messages] == ["system", "user"]
    text = prompt_text(messages)
    positions = [text.index(marker) for marker in SECTIONS]
    assert positions == sorted(positions), "sections out of order"

    system, user = messages[0].content, messages[1].content
    assert "Name: Lisa" in system and agent.persona.render()[:200] in system  # persona (stable part)
    assert "TALK:" in system and "at most 6 before the last one" in system
    recent = user.split("# Recent events", 1)[1].split("# Your situation now", 1)[0]
    assert 'Oscar said: "What do you think of the bottle?"' in recent
    assert 'you (Lisa) said to Oscar: "I think it is too expensive"' in recent
    situation = user.split("# Your situation now", 1)[1].split("# New since", 1)[0]
    assert "Goals: judge the bottle" in situation and "Attention: the price" in situation
    assert "Emotions: curious" in situation and "Context: focus group" in situation
    assert "Location: the meeting room" in situation
    assert "People you can talk to: Oscar (fellow participant)" in situation
    assert "Date and time: 2025-01-06 09:00" in situation
    new = user.split("# New since your last turn", 1)[1]
    assert 'Oscar said: "It costs 45 euros."' in new and "you are now at: the meeting room" in new
    assert "It costs 45 euros" not in recent  # a stimulus is shown once, as new
    assert user.rstrip().endswith("Now act as Lisa: your actions for this turn, ending with DONE.")


def test_recalled_memories_come_after_the_recent_events_they_change_more_often_than() -> None:
    # Recalled memories depend on this turn's query; the recent events only grow: the stable part first
    # keeps a provider's prefix cache warm (docs/performance.md, "Prefix caching").
    view = TurnView(name="Ana", persona_text="Name: Ana", action_types={"DONE": "end"}, state=CognitiveState(),
                    recent=[], new=[], long_term_memory="Ana once lived in Lisbon.")
    text = prompt_text(build_action_messages(view, PromptBudget()))
    order = [text.index(s) for s in ("# Who you are", "# Recent events", "# What you remember",
                                     "Ana once lived in Lisbon", "# Your situation now", "# New since")]
    assert order == sorted(order)
    assert "(nothing yet)" in text and "(nothing new)" in text and "Date and time: unknown" in text
    no_ltm = prompt_text(build_action_messages(
        TurnView(name="Ana", persona_text="x", action_types={}, state=CognitiveState(), recent=[], new=[]),
        PromptBudget()))
    assert "# What you remember" not in no_ltm


def test_registered_action_types_and_rules_reach_the_prompt_and_schema() -> None:
    backend = ScriptedBackend([turn(("WRITE_DOCUMENT", "minutes of the meeting"))])
    agent = TinyPerson("Ana", client=LLMClient(backend))
    agent.actions_registry.register("WRITE_DOCUMENT", "write a document; content is its text")
    assert "- WRITE_DOCUMENT: write a document" in agent.build_prompt()[0].content
    actions = agent.act(return_actions=True) or []
    assert [a.type for a in actions] == ["WRITE_DOCUMENT", "DONE"]
    schema = backend.requests[0].response_schema
    assert schema is not None and "WRITE_DOCUMENT" in str(schema)
    view = TurnView(name="Ana", persona_text="x", action_types={}, state=CognitiveState(), recent=[], new=[],
                    extra_rules=["Never mention the weather."])
    assert "- Never mention the weather." in build_action_messages(view, PromptBudget())[0].content


def _fixed_overhead(budget: int) -> int:
    """Tokens of a prompt with a one-line persona and no events: instructions and section headers."""
    return prompt_tokens(TinyPerson("Lisa", prompt_token_budget=budget, client=offline()).build_prompt())


def test_prompt_stays_within_budget_after_200_new_stimuli() -> None:
    agent = lisa()
    for i in range(200):
        agent.listen(f"Message {i}: " + "the bottle is interesting but pricey " * 6, source="Oscar")
    messages = agent.build_prompt()
    assert prompt_tokens(messages) <= _fixed_overhead(agent.prompt_token_budget) + agent.prompt_token_budget
    new = messages[1].content.split("# New since your last turn", 1)[1]
    assert estimate_tokens(new) <= agent.prompt_budget.stimuli + 30
    assert "Message 199:" in new  # the newest stimulus is always shown
    assert "Message 0:" not in new and "earlier events not shown)" in new


def test_prompt_stays_within_budget_and_flat_over_200_events_with_turns() -> None:
    budget = 1200
    long_reply = turn(("TALK", "I keep saying the same long thing about the bottle " * 10),
                      ("THINK", "a long private thought about price and design " * 10))
    backend = ScriptedBackend([long_reply], cycle=True)
    agent = lisa(client=LLMClient(backend), prompt_token_budget=budget)
    limit = _fixed_overhead(budget) + budget
    sizes = []
    events = 0
    while events < 400:
        for _ in range(3):
            agent.listen(f"Event {events}: " + "tell me more about it " * 12, source="Oscar")
            events += 1
        agent.act()
        events += 3  # TALK, THINK, DONE
        sizes.append(prompt_tokens(backend.requests[-1].messages))
        if events >= 200:
            assert sizes[-1] <= limit, f"prompt of {sizes[-1]} tokens after {events} events (limit {limit})"
    # bounded, not growing: the prompt after 400 events is no bigger than after 200
    assert max(sizes[len(sizes) // 2:]) <= max(sizes[: len(sizes) // 2]) + 5
    persona_section = backend.requests[-1].messages[0].content.split("# Who you are", 1)[1]
    assert estimate_tokens(persona_section) <= agent.prompt_budget.persona + 5  # lisa's long persona is cut
    assert persona_section.rstrip().endswith("…")


def test_prompt_stays_within_budget_with_200_accessible_agents() -> None:
    agent = lisa()
    agent.make_agents_accessible(TinyPerson(f"Participant number {i}") for i in range(200))
    messages = agent.build_prompt()
    assert prompt_tokens(messages) <= _fixed_overhead(agent.prompt_token_budget) + agent.prompt_token_budget
    line = next(x for x in messages[1].content.splitlines() if x.startswith("People you can talk to:"))
    assert "Participant number 0 (" in line and line.endswith("more)")


def test_one_huge_stimulus_is_cut_to_max_item_chars() -> None:
    agent = TinyPerson("Ana", client=offline())
    agent.listen("x" * 10_000, source="Ben")
    new = agent.build_prompt()[1].content.split("# New since your last turn", 1)[1]
    assert "x" * agent.max_content_display_length not in new
    assert "x" * (agent.max_content_display_length - 1) + "…" in new


def test_fit_lines_keeps_newest_and_notes_omissions() -> None:
    lines = [f"line {i:03d}" for i in range(100)]  # 8 chars + newline each
    out = fit_lines(lines, budget_tokens=9)  # 36 chars: four lines
    assert out.splitlines() == ["(96 earlier events not shown)", "line 096", "line 097", "line 098", "line 099"]
    assert fit_lines(lines[:2], 100) == "line 000\nline 001"
    oldest = fit_lines(lines, 9, keep="oldest")
    assert oldest.splitlines()[0] == "line 000" and oldest.endswith("(96 more not shown)")


def test_fit_names_lists_what_fits_and_counts_the_rest() -> None:
    names = ["Ana", "Ben", "Cid", "Dee"]
    assert fit_names(names, 100) == "Ana, Ben, Cid, Dee"
    assert fit_names(names, 3) == "Ana, Ben (and 2 more)"  # 12 characters: two names with separators
    assert fit_names(names, 0) == "(and 4 more)"
    assert fit_names([], 10) == ""


def test_fit_text_cuts_at_a_line_boundary() -> None:
    text = "\n".join(f"Field {i}: value" for i in range(50))
    out = fit_text(text, 20)
    assert len(out) <= 20 * 4 + 2 and out.endswith("\n…")
    assert all(line.startswith("Field") for line in out.splitlines()[:-1])
    assert fit_text("short", 20) == "short"


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


def test_memory_item_descriptions() -> None:
    when = datetime(2025, 1, 6, 14, 5)
    talk = MemoryItem(id=1, kind="action", type="TALK", content="Hi", target="Ben", sim_time=when)
    assert talk.describe("Ana") == '[2025-01-06 14:05] you (Ana) said to Ben: "Hi"'
    custom = MemoryItem(id=2, kind="action", type="WRITE", content="a memo")
    assert custom.describe("Ana") == "you (Ana) did WRITE: a memo"
    heard = MemoryItem(id=3, kind="stimulus", type="CONVERSATION", content="Hello")
    assert heard.describe("Ana") == 'someone said: "Hello"'
