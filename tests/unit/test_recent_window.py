"""The recent window of the action prompt slides in blocks (``[Cognition] RECENT_WINDOW_STEP``): it shows
at least ``RECENT_WINDOW`` events, grows by one per event up to ``RECENT_WINDOW + step - 1``, then drops
``step`` at once, so consecutive prompts of an agent share their recent events; where it starts is part
of the agent's state, so a resumed run builds the prompts an uninterrupted one does."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from datetime import datetime
from typing import Any

import pytest
from helpers import DONE_TURN, action_prompt, agent_of, turn
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.memory import MemoryItem
from tinytroupe.agent.person_prompt import slide_window
from tinytroupe.config import Settings, using_settings
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import InvalidArgument, LLMError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend


def _events(ids: range | list[int]) -> list[MemoryItem]:
    return [MemoryItem(id=i, kind="stimulus", type="CONVERSATION", content=f"event {i}") for i in ids]


def _recent(prompt: str) -> str:
    return prompt.split("# Recent events", 1)[1].split("\n# ", 1)[0]


def _windows(size: int, step: int, arrivals: list[int]) -> list[list[int]]:
    """The window after each batch of arrivals (``arrivals[k]`` new events), carrying the start along."""
    events: list[MemoryItem] = []
    start, out = 0, []
    for n in arrivals:
        events += _events(range(len(events) + 1, len(events) + n + 1))
        shown = slide_window(events, start, size, step)
        start = shown[0].id if shown else start
        out.append([e.id for e in shown])
    return out


# ------------------------------------------------------------------------------------------ the rule


def test_the_window_grows_to_size_plus_step_minus_one_then_drops_a_whole_step() -> None:
    lengths = [len(w) for w in _windows(4, 3, [1] * 14)]
    assert lengths == [1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6, 4, 5]
    windows = _windows(4, 3, [1] * 14)
    for before, after in itertools.pairwise(windows):
        if len(after) > len(before):  # growing: the same start, one event appended
            assert after[:-1] == before
        else:  # full: the step oldest leave at once
            assert after == [*before[3:], before[-1] + 1]


def test_step_one_is_the_last_size_events_whatever_arrives() -> None:
    rng = random.Random(5)
    arrivals = [rng.randint(0, 7) for _ in range(40)]
    total = 0
    for window, n in zip(_windows(5, 1, arrivals), arrivals, strict=True):
        total += n
        assert window == list(range(max(1, total - 4), total + 1))


@pytest.mark.parametrize("step", [2, 3, 5, 8])
def test_many_events_at_once_move_the_start_by_whole_steps_and_never_below_the_size(step: int) -> None:
    rng = random.Random(step)
    arrivals = [rng.randint(0, 12) for _ in range(60)]
    windows = _windows(6, step, arrivals)
    seen = 0
    for before, after, n in zip([[], *windows], windows, arrivals, strict=False):
        seen += n
        assert after[-1:] == ([seen] if seen else [])  # always up to the newest event
        if seen < 6:
            assert len(after) == seen
            continue
        assert 6 <= len(after) <= 6 + step - 1
        if len(before) >= 6:  # it was full: its start moves by whole steps only
            assert (after[0] - before[0]) % step == 0


def test_a_forgotten_or_too_new_start_falls_back_to_the_last_size_events() -> None:
    events = _events(range(30, 40))  # ids 30..39: whatever the start, 10 events are held
    # the start was forgotten: the 10 held events count from the oldest, two steps of 3 leave
    assert [e.id for e in slide_window(events, 5, 4, 3)] == [36, 37, 38, 39]
    assert [e.id for e in slide_window(events, 38, 4, 3)] == [36, 37, 38, 39]  # 2 after the start: the last 4
    assert [e.id for e in slide_window(events[:2], 0, 4, 3)] == [30, 31]  # fewer than the size: all
    assert slide_window([], 7, 4, 3) == []


def _one_at_a_time(size: int, step: int, ids: list[int] | list[str]) -> list[Any]:
    """The reference: the window as it would be were it moved on after each single event (from the first
    event; when it holds ``size + step`` events its ``step`` oldest leave)."""
    start = 0
    for held in range(1, len(ids) + 1):
        if held - start >= size + step:
            start += step
    return list(ids[start:])


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.lists(st.integers(0, 15), max_size=25),
       st.lists(st.integers(1, 3), min_size=400, max_size=400))
def test_events_arriving_in_batches_give_the_windows_of_events_arriving_one_by_one(
        size: int, step: int, arrivals: list[int], gaps: list[int]) -> None:
    # Ids with gaps, as the DONE lines and new stimuli left out of the window leave them.
    ids: list[int] = []
    start, next_gap = 0, iter(gaps)
    for n in arrivals:
        for _ in range(n):
            ids.append((ids[-1] if ids else 0) + next(next_gap))
        shown = [e.id for e in slide_window(_events(ids), start, size, step)]
        assert shown == _one_at_a_time(size, step, ids)
        start = shown[0] if shown else start


# ------------------------------------------------------------------------------------------ an agent


def _agent(step: int, **kwargs: Any) -> TinyPerson:
    with using_settings(Settings(cognition={"recent_window": 4, "recent_window_step": step})):
        return TinyPerson("Ana", client=LLMClient(ScriptedBackend([DONE_TURN], cycle=True)), **kwargs)


def _recent_sections(agent: TinyPerson, turns: int) -> list[str]:
    sections = []
    for n in range(turns):
        agent.listen(f"message number {n}", source="Ben")
        sections.append(_recent(agent.build_prompt()[1].content))
        agent.act()
    return sections


def test_consecutive_prompts_of_an_agent_share_their_recent_events_until_a_step_leaves() -> None:
    blocky, sliding = _recent_sections(_agent(3), 12), _recent_sections(_agent(1), 12)
    assert [s.count("message number") for s in blocky] == [0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5]
    assert [s.count("message number") for s in sliding] == [0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4]
    assert blocky[:5] == sliding[:5]  # until the window is full the two are the same
    for before, after in itertools.pairwise(blocky[1:]):  # a prompt extends the last one's, but when a step leaves
        grew = after.count("message number") > before.count("message number")
        assert after.startswith(before.rstrip("\n")) == grew
    assert not any(b.startswith(a.rstrip("\n")) for a, b in itertools.pairwise(sliding[4:]))


def test_the_setting_and_the_argument_set_the_step() -> None:
    assert _agent(3).recent_window_step == 3
    assert _agent(3, recent_window_step=2).recent_window_step == 2
    with pytest.raises(InvalidArgument, match="recent_window_step"):
        TinyPerson("Ana", recent_window_step=0)


def test_a_token_budget_still_cuts_the_larger_window_to_the_newest_events_that_fit() -> None:
    long = " ".join(["words"] * 30)
    for step in (1, 6):
        agent = _agent(step, prompt_token_budget=400)  # recent share: 132 tokens, about 3 lines of these
        for n in range(8):
            agent.listen(f"{n}: {long}", source="Ben")
        agent.act()
        agent.listen("something new", source="Ben")
        section = _recent(agent.build_prompt()[1].content)
        lines = [line for line in section.splitlines() if "words" in line]
        body = "\n".join(lines)
        assert len(body) <= agent.prompt_budget.recent * 4
        assert lines and lines[-1].split('"', 1)[1].startswith("7:")  # the newest kept
        shown = len(lines)
        assert f"({(4 if step == 1 else 8) - shown} earlier events not shown)" in section
        if step == 1:
            shown_with_one_step = shown
    assert shown >= shown_with_one_step  # never fewer than a window sliding by one event


def test_whoever_the_larger_window_shows_speaking_can_be_answered() -> None:
    # The recent events may reach step - 1 events further back than RECENT_WINDOW; a speaker they show
    # must stay among the turn's allowed targets (the schema's enum), or the model could not answer them.
    with using_settings(Settings(cognition={"recent_window": 2, "recent_window_step": 40})):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([turn(("THINK", "hm"))], cycle=True)))
    ana.listen("Welcome, everyone", source="Host")
    for _ in range(30):  # 30 turns of a thought and a DONE: 60 memories after the welcome
        ana.act()
    assert "Host" in _recent(ana.build_prompt()[1].content)
    assert "Host" in (ana.target_choices() or ())


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5),
       st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), st.sampled_from(["act", "fail", "preview"])),
                max_size=15))
def test_an_agent_s_prompts_show_the_reference_s_window_over_what_its_turns_saw(
        size: int, step: int, plan: list[tuple[int, int, str]]) -> None:
    # Through previews (build_prompt) and failed turns (no valid answer: nothing committed, their stimuli
    # stay new), left out of the window: DONE lines and the new stimuli, shown in their own section.
    made = itertools.count()
    thoughts: list[str] = []
    failing = [False]

    def reply(request: LLMRequest) -> Any:
        if failing[0]:
            return "not an answer"
        return turn(*[("THINK", text) for text in thoughts])

    with using_settings(Settings(cognition={"recent_window": size, "recent_window_step": step})):
        ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(reply)))
    seen: list[str] = []  # what a prompt may show as recent events, oldest first
    pending: list[str] = []  # heard, not yet seen by a committed turn (the prompt's new stimuli)
    for heard, thinks, what in plan:
        for _ in range(heard):
            pending.append(f"ev{next(made)}")
            ana.listen(pending[-1], source="Ben")
        assert re.findall(r"ev\d+", _recent(ana.build_prompt()[1].content)) == _one_at_a_time(size, step, seen)
        thoughts[:] = [f"ev{next(made)}" for _ in range(thinks)]
        failing[0] = what == "fail"
        if what == "fail":
            with pytest.raises(LLMError):
                ana.act()
        elif what == "act":
            ana.act()
            seen += [*pending, *thoughts]
            pending.clear()


# ------------------------------------------------------------------------------------------ resume


class _Recorder:
    """Records each action prompt; the reply depends on the prompt only, so equal prompts give equal runs."""

    def __init__(self) -> None:
        self.prompts: list[tuple[str, str]] = []

    def __call__(self, request: LLMRequest) -> dict[str, Any]:
        name, prompt = agent_of(request), action_prompt(request)
        self.prompts.append((name, prompt))
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
        return {"actions": [{"type": "TALK", "content": f"{name} speaks ({digest})", "target": ""},
                            {"type": "DONE"}],
                "cognitive_state": {"goals": "talk", "context": [], "attention": "room", "emotions": "calm"}}


def _room(recorder: _Recorder) -> TinyWorld:
    # A small memory that forgets one item at a time: counted from the oldest event held, the window's
    # blocks would shift as the memory forgets; counted from the saved start, they do not.
    settings = Settings(cognition={"recent_window": 3, "recent_window_step": 4},
                        memory={"max_episodic_memory_size": 14, "eviction_batch_fraction": 0.01,
                                "consolidate_before_eviction": False})
    with using_settings(settings):
        agents = [TinyPerson(n) for n in ("Ana", "Ben", "Cai")]
    world = TinyWorld("Room", agents, client=LLMClient(ScriptedBackend(recorder)),
                      initial_datetime=datetime(2025, 1, 6, 9), seed=3, parallelize=False)
    world.make_everyone_accessible()
    return world


def _resumed_prompts(state: dict[str, Any], steps: int) -> list[tuple[str, str]]:
    recorder = _Recorder()
    world = _room(recorder)
    world.load_state(state)
    world.run(steps)
    return recorder.prompts


def test_a_resumed_run_builds_the_same_prompts_as_an_uninterrupted_one() -> None:
    recorder = _Recorder()
    whole = _room(recorder)
    whole.broadcast("Welcome", source="Host")
    whole.run(4)
    state = json.loads(json.dumps(whole.to_state()))  # what a checkpoint holds
    assert all(a["recent_from"] > 1 for a in state["agents"])  # the windows have moved on
    del recorder.prompts[:]
    whole.run(4)
    expected = recorder.prompts
    assert len(expected) == 12

    assert _resumed_prompts(state, 4) == expected
    # The start matters: without it a resumed agent's window restarts from its last 3 events.
    for agent in state["agents"]:
        agent.pop("recent_from")
    assert _resumed_prompts(state, 4) != expected


def test_the_default_step_is_half_the_agents_window() -> None:
    # A small window stays small: TinyPerson(recent_window=2) moves on one event at a time, as before.
    assert TinyPerson("Small", recent_window=2).recent_window_step == 1
    assert TinyPerson("Usual").recent_window_step == 10
    assert TinyPerson("Odd", recent_window=7).recent_window_step == 3
    assert TinyPerson("Set", recent_window=2, recent_window_step=4).recent_window_step == 4
    with using_settings(Settings.model_validate({"cognition": {"recent_window_step": 6}})):
        assert TinyPerson("Configured", recent_window=2).recent_window_step == 6
