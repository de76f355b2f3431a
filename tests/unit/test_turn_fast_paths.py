"""Shortcuts on the per-agent-turn path: caches that follow changes, a ledger row read on its own, and
the turn's fast paths giving what the plain ones give (batch, prompt render, new stimuli, hooks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import pytest

from tinytroupe.agent import MemoryItem, TinyPerson
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.usage import UsageLedger


def offline_agent(name: str = "Ana") -> TinyPerson:
    return TinyPerson(name, client=LLMClient(ScriptedBackend([])))


def test_system_message_is_reused_and_follows_persona_and_action_changes() -> None:
    ana = offline_agent()
    first, second = ana.build_prompt()[0], ana.build_prompt()[0]
    assert first is second  # rendered once, shared between turns

    ana.define("occupation.title", "Glassblower")
    changed = ana.build_prompt()[0]
    assert "Glassblower" in changed.content and "Glassblower" not in first.content

    ana.actions_registry.register("CONSULT", "look something up; content is the question")
    assert "CONSULT" in ana.build_prompt()[0].content


def test_time_prefix_cache_keeps_each_zone_reading() -> None:
    # Equal instants in different zones are equal datetimes: a cache keyed on them alone would mix them up.
    utc = MemoryItem(id=1, kind="stimulus", type="VISUAL", content="rain", sim_time=datetime(2025, 1, 6, 9, tzinfo=UTC))
    plus_one = MemoryItem(id=2, kind="stimulus", type="VISUAL", content="rain",
                          sim_time=datetime(2025, 1, 6, 10, tzinfo=timezone(timedelta(hours=1))))
    naive = MemoryItem(id=3, kind="stimulus", type="VISUAL", content="rain", sim_time=datetime(2025, 1, 6, 9))
    assert utc.describe("Ana") == "[2025-01-06 09:00] you saw: rain"
    assert plus_one.describe("Ana") == "[2025-01-06 10:00] you saw: rain"
    assert naive.describe("Ana") == naive.describe("Ana") == "[2025-01-06 09:00] you saw: rain"


def test_ledger_counts_is_one_row_of_stats_and_adds_no_rows() -> None:
    ledger = UsageLedger()
    ledger.record(model="m", agent="Ana", world="Cafe", purpose="action", prompt_tokens=10,
                  completion_tokens=5, latency_s=0.1, cached=False, error=False)
    assert ledger.counts("world", "Cafe") == ledger.stats()["by_world"]["Cafe"]
    assert ledger.counts("agent", "Ben") == {}
    assert "Ben" not in ledger.stats()["by_agent"]
    with pytest.raises(ValueError, match="planet"):
        ledger.counts("planet", "Earth")


def test_an_answer_becomes_the_batch_a_dump_and_validation_gives() -> None:
    # The turn turns its validated answer into an ActionBatch from the parts' fields, without a dump:
    # same values, same fields set (cites and appraisal included), and no list shared with the answer.
    from tinytroupe.agent.actions import ActionBatch, action_turn_spec
    from tinytroupe.agent.person import _batch_of

    spec = action_turn_spec(("TALK", "THINK", "DONE"), 3, targets=("", "Ana"), appraisal=True, citable=("menu#1",))
    answer = spec.model.model_validate(
        {"actions": [{"type": "TALK", "content": "hi", "target": "ana", "cites": ["[menu#1]"]},
                     {"type": "THINK"}, {"type": "DONE", "content": "bye"}],
         "cognitive_state": {"goals": "eat", "context": ["a café"], "pleasure_change": 5}}, context=spec.context)
    direct, dumped = _batch_of(answer), ActionBatch.model_validate(answer.model_dump())
    assert direct == dumped and direct.model_dump() == dumped.model_dump()
    assert direct.actions[0].cites == ["menu#1"] and direct.cognitive_state.pleasure_change == 3
    assert [a.model_fields_set for a in direct.actions] == [a.model_fields_set for a in dumped.actions]
    assert direct.cognitive_state.model_fields_set == dumped.cognitive_state.model_fields_set
    parts: Any = answer
    assert direct.actions[0].cites is not parts.actions[0].cites
    assert direct.cognitive_state.context is not parts.cognitive_state.context

    plain = action_turn_spec(("TALK", "DONE"), 2)
    bare = plain.model.model_validate({"actions": [{"type": "TALK", "content": "x" * 40}]}, context=plain.context)
    assert _batch_of(bare) == ActionBatch.model_validate(bare.model_dump())
    assert _batch_of(bare).cognitive_state.emotions == ""  # the answer's default, as a dump gives it


@pytest.mark.parametrize("values", [
    {"recent": "", "long_term_memory": "", "sections": {}, "now": None, "location": None, "accessible": "",
     "stimuli": "", "context": []},
    {"recent": "a\nb", "long_term_memory": "[E1] x", "sections": {"Tools": "t1", "Notes": "n"},
     "now": "2025-01-06 09:00", "location": "the café", "accessible": "Ben, Cai (and 2 more)",
     "stimuli": "Ben said: hi", "context": ["raining", "late"]},
])
def test_the_turn_prompt_renders_as_jinja_renders_it(values: dict[str, Any]) -> None:
    from tinytroupe.agent import cognition
    from tinytroupe.agent.actions import CognitiveState
    from tinytroupe.agent.prompts import template

    state = CognitiveState(goals="", context=values.pop("context"), attention="Ben", emotions="")
    full = {"name": "Ana", "state": state, **values}
    assert cognition._render(cognition._user_template(), full) == template("action_user.j2").render(**full)


def test_the_prompt_clock_keeps_each_zone_reading() -> None:
    from tinytroupe.agent.memory.clock import clock_text as _clock_text

    naive = datetime(2025, 1, 6, 9)
    assert _clock_text(naive) == _clock_text(naive) == "2025-01-06 09:00"
    assert _clock_text(datetime(2025, 1, 6, 9, tzinfo=UTC)) == "2025-01-06 09:00"
    assert _clock_text(datetime(2025, 1, 6, 10, tzinfo=timezone(timedelta(hours=1)))) == "2025-01-06 10:00"


def _new_stimuli_by_the_pool(agent: TinyPerson, seen: int) -> list[MemoryItem]:
    # The rule as it was written first: the new stimuli among the last `recent_window + 50` items,
    # all of them when the pool starts with a new one and more came before it.
    pool = agent.memory.recent(agent.recent_window + 50)
    new = [i for i in pool if i.id > seen and i.kind == "stimulus"]
    if new and new[0].id == pool[0].id and seen < new[0].id - 1:
        new = [i for i in agent.memory.after(seen) if i.kind == "stimulus"]
    return new


@pytest.mark.parametrize("strategy", ["fifo", "relevance"])
def test_new_stimuli_are_the_ones_the_pool_rule_picks(strategy: str) -> None:
    import random

    from tinytroupe.agent.memory import EpisodicMemory

    rng = random.Random(7)
    for _ in range(25):
        ana = offline_agent()
        ana.recent_window = rng.choice([1, 4, 10])
        ana.memory = EpisodicMemory(max_size=rng.randint(5, 200), cleanup_strategy=strategy)  # type: ignore[arg-type]
        for k in range(rng.randint(0, 260)):
            kind: Literal["stimulus", "action"] = "stimulus" if rng.random() < 0.67 else "action"
            ana.memory.add(kind=kind, type="CONVERSATION" if kind == "stimulus" else "TALK", content=f"m{k}")
            if strategy == "relevance" and rng.random() < 0.2:
                ana.memory.set_importance({i.id: rng.uniform(1, 10) for i in ana.memory.recent(5)})
        for seen in sorted({0, 1, ana.memory.last_id, *(rng.randint(0, ana.memory.last_id + 2) for _ in range(6))}):
            ana._seen_upto = seen
            view, _, _ = ana._turn_view()
            assert [i.id for i in view.new] == [i.id for i in _new_stimuli_by_the_pool(ana, seen)]


def test_a_hook_set_on_a_component_instance_still_runs() -> None:
    import asyncio

    from tinytroupe.agent.turn import Turn, TurnComponent, TurnPhase, run_hooks, takes_part

    class Quiet(TurnComponent):
        name = "quiet"

    calls: list[str] = []
    quiet, ana = Quiet(), offline_agent()
    turn = Turn(agent=ana, client=ana.client)
    asyncio.run(run_hooks([quiet], TurnPhase.DECIDE, turn))
    assert calls == [] and not takes_part(quiet, TurnPhase.DECIDE)

    async def decide(turn: Turn) -> None:
        calls.append("decide")

    quiet.decide = decide  # type: ignore[method-assign]
    asyncio.run(run_hooks([quiet, Quiet()], TurnPhase.DECIDE, turn))
    assert calls == ["decide"] and takes_part(quiet, TurnPhase.DECIDE) and not takes_part(Quiet(), TurnPhase.DECIDE)


def test_the_prompt_render_keeps_the_template_globals_and_its_errors() -> None:
    import jinja2

    from tinytroupe.agent import cognition

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    uses_globals = env.from_string("{{ range(3) | list }} {{ who }}")
    assert cognition._render((uses_globals, dict(uses_globals.globals)), {"who": "Ana"}) == "[0, 1, 2] Ana"
    with pytest.raises(jinja2.UndefinedError, match="'who' is undefined"):
        cognition._render((uses_globals, dict(uses_globals.globals)), {})


def test_rule_importance_remembered_is_the_rule_and_rule_mode_rates_as_the_loop_did() -> None:
    import asyncio

    from tinytroupe.agent.memory import importance

    texts = ["", "  ", "hello!", "Good morning, everyone", "I think the price is too high", "x" * 250, "y" * 2_500]
    for kind, type_ in [("stimulus", "CONVERSATION"), ("action", "DONE"), ("stimulus", "SOCIAL"), ("action", "X")]:
        for text in texts:
            assert importance.rule_importance(kind, type_, text) == importance._rule_importance(type_, text)
    assert importance.rule_importance("stimulus", "VISUAL", "y" * 2_500) == 4.0  # long: not remembered, still scored

    items = [MemoryItem(id=i + 1, kind="stimulus", type="CONVERSATION", content=t) for i, t in enumerate(texts)]
    rated = asyncio.run(importance.ImportanceScorer("rule").arate(items, "Ana", None))  # type: ignore[arg-type]
    assert rated == {i.id: importance.rule_importance(i.kind, i.type, i.content) for i in items}
    assert list(rated) == [i.id for i in items]


def test_the_memory_query_is_built_only_when_there_is_something_to_recall(monkeypatch: pytest.MonkeyPatch) -> None:
    from tinytroupe.config import Settings, using_settings

    settings = Settings(memory={"embedder": "hash"}, cognition={"recent_window": 3, "recent_window_step": 1})
    with using_settings(settings):
        ana = offline_agent()
    built: list[str] = []
    plain = type(ana)._memory_query

    def counted(self: TinyPerson, new: Any = ()) -> str:
        built.append(plain(self, new))
        return built[-1]

    monkeypatch.setattr(type(ana), "_memory_query", counted)
    ana.listen("hello there, nice day", source="Ben")
    assert "# What you remember" not in ana.build_prompt()[1].content and built == []  # all on screen

    ana.listen("Oscar's secret recipe uses cardamom and orange", source="Oscar")
    for n in range(10):
        ana.listen(f"small talk {n} about the weather today", source="Ben")
    ana._seen_upto = ana.memory.last_id  # all seen: only the recent window (3) stays on screen
    ana.internalize_goal("bake Oscar's secret recipe")
    section = ana.build_prompt()[1].content.split("# What you remember", 1)[1]
    assert "cardamom" in section and len(built) == 1
    shown = {i.id for i in ana.memory.recent(3)}
    # the text and a function giving it recall the same; the function is not called with nothing to recall
    assert ana.memories.recall_text(built[0], shown, 500, rehearse=False) == ana.memories.recall_text(
        lambda: built[0], shown, 500, rehearse=False) != ""
    everything = {i.id for i in ana.memory.items()}
    assert ana.memories.recall_text(lambda: pytest.fail("built"), everything, 500) == ""  # type: ignore[arg-type,return-value]
    assert ana.memories.recall_text(lambda: "   ", shown, 500) == ana.memories.recall_text("   ", shown, 500) == ""


def _plain_fit(items: list[str], budget_chars: int, separator: int) -> int:
    used, kept = 0, 0
    for item in items:
        if used + len(item) + separator > budget_chars:
            break
        used, kept = used + len(item) + separator, kept + 1
    return kept


def test_fit_lines_and_fit_names_keep_what_a_plain_loop_keeps() -> None:
    import random

    from tinytroupe.agent.cognition import fit_lines, fit_names

    rng = random.Random(7)
    for _ in range(3000):
        lines = ["x" * rng.randint(0, 30) for _ in range(rng.randint(0, 12))]
        budget = rng.randint(-1, 40)  # tokens: 4 characters each
        newest = _plain_fit(lines[::-1], budget * 4, 1)
        shown = lines[len(lines) - newest:]
        omitted = len(lines) - newest
        assert fit_lines(lines, budget) == "\n".join(
            [f"({omitted} earlier events not shown)"] * bool(omitted) + shown)
        oldest = _plain_fit(lines, budget * 4, 1)
        assert fit_lines(tuple(lines), budget, keep="oldest") == "\n".join(
            lines[:oldest] + [f"({len(lines) - oldest} more not shown)"] * (oldest < len(lines)))
        names = _plain_fit(lines, budget * 4, 2)
        rest = len(lines) - names
        assert fit_names(lines, budget) == ", ".join(lines[:names]) + (
            f"{' ' if names else ''}(and {rest} more)" if rest else "")


def _recent_by_two_scans(agent: TinyPerson, new_ids: set[int]) -> list[MemoryItem]:
    # The rule as it was written first: from the anchor on, else the last `size + 50 + new` items.
    from tinytroupe.agent.person_prompt import slide_window

    size, anchor = agent.recent_window, agent._recent_from
    events = [i for i in agent.memory.after(anchor - 1) if i.id not in new_ids and i.type != "DONE"]
    if len(events) < size:
        pool = agent.memory.recent(size + 50 + len(new_ids))
        events = [i for i in pool if i.id not in new_ids and i.type != "DONE"]
    return slide_window(events, anchor, size, agent.recent_window_step)


@pytest.mark.parametrize("strategy", ["fifo", "relevance"])
def test_recent_events_are_the_ones_two_scans_pick(strategy: str) -> None:
    import random

    from tinytroupe.agent.memory import EpisodicMemory

    rng = random.Random(11)
    for _ in range(40):
        ana = offline_agent()
        ana.recent_window, ana.recent_window_step = rng.choice([(1, 1), (4, 2), (10, 5), (60, 1)])
        ana.memory = EpisodicMemory(max_size=rng.randint(5, 200), cleanup_strategy=strategy)  # type: ignore[arg-type]
        done = rng.choice([0.5, 0.9])  # mostly DONE: a long memory with few events to show
        for k in range(rng.randint(0, 260)):
            kind: Literal["stimulus", "action"] = "stimulus" if rng.random() < 0.3 else "action"
            kind_type = "CONVERSATION" if kind == "stimulus" else "DONE" if rng.random() < done else "TALK"
            ana.memory.add(kind=kind, type=kind_type, content=f"m{k}")
        for anchor in sorted({0, 1, ana.memory.last_id, *(rng.randint(0, ana.memory.last_id + 2) for _ in range(5))}):
            ana._recent_from = anchor
            new_ids = {i.id for i in ana.memory.recent(rng.randint(0, 8)) if i.kind == "stimulus"}
            got = ana._recent_events(new_ids, ana.memory)
            assert [i.id for i in got] == [i.id for i in _recent_by_two_scans(ana, new_ids)]


def test_target_choices_and_their_spelling_fix_are_the_plain_rules() -> None:
    import random

    from tinytroupe.agent.targets import _all_text, _target_choices, canonical_target

    rng = random.Random(5)
    pool = ["", " ", "Ana", "ana", " Ana ", "Ben", "BEN", "Cai (x)", "ß", "SS", "ss", "\tDan\n"]
    for _ in range(2000):
        names = tuple(rng.choice(pool) for _ in range(rng.randint(0, 8)))
        exclude = rng.choice([None, "Ana", "", "Ben"])
        plain = sorted({n.strip() for n in names if n.strip() and n.strip() != exclude})
        assert _target_choices.__wrapped__(names, exclude) == ("", *plain)
        folded = {c.casefold(): c for c in names}
        fix = canonical_target.__wrapped__(names)
        assert all(fix(v) == folded.get(v.strip().casefold(), v.strip()) for v in pool)
    assert _all_text(("", "Ana")) and not _all_text(("", 1)) and not _all_text(("", ["Ana"]))


def _fields(action: Any) -> tuple[str, str, str, list[str]]:
    return action.type, action.content, action.target, action.cites  # cites: left out of dumps


def _plain_normalised(batch: Any, max_actions: int) -> list[tuple[str, str, str, list[str]]]:
    """The rule `normalised` keeps, spelled out: cut at the first DONE, at most ``max_actions`` before
    it, then one empty DONE."""
    kept = []
    for action in batch.actions:
        if action.type == "DONE" or len(kept) >= max_actions:
            break
        kept.append(_fields(action))
    return [*kept, ("DONE", "", "", [])]


def test_a_batch_already_normal_is_kept_and_any_other_is_rebuilt_by_the_plain_rule() -> None:
    import random

    from tinytroupe.agent.actions import Action, ActionBatch, CognitiveState

    rng = random.Random(12)
    state = CognitiveState(goals="tea")
    shapes = [Action(type="TALK", content="hi", target="Ben"), Action(type="THINK", content="hm"),
              Action(type="DONE"), Action(type="DONE", content="bye"), Action(type="DONE", target="Ben"),
              Action(type="DONE", cites=["c1"])]
    kept_as_is = 0
    for _ in range(400):
        batch = ActionBatch(actions=rng.choices(shapes, k=rng.randint(0, 5)), cognitive_state=state)
        limit = rng.randint(1, 4)
        result = batch.normalised(limit)
        assert [_fields(a) for a in result.actions] == _plain_normalised(batch, limit)
        assert result.cognitive_state is state
        if result is batch:
            kept_as_is += 1
    assert kept_as_is >= 10  # the shortcut was taken, and checked against the rule each time
