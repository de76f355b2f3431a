"""Simulation control: replay from the run file, divergence reports, checkpoints, trace and CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tinytroupe import control, gc_freeze, scope
from tinytroupe.agent import TinyPerson
from tinytroupe.cli import app
from tinytroupe.environment import TinyWorld
from tinytroupe.environment import world as world_module
from tinytroupe.errors import SimulationError
from tinytroupe.events import (
    ActionEvent,
    Event,
    EventBus,
    LLMCallEvent,
    MemoryEvent,
    StepEvent,
    StimulusEvent,
    WarningEvent,
)
from tinytroupe.llm import LLMRequest, ScriptedBackend
from tinytroupe.llm.cache import ResponseCache
from tinytroupe.llm.default import get_default_client, set_default_client
from tinytroupe.storage.checkpoints import CheckpointStore, pack, unpack
from tinytroupe.storage.trace_store import Trace, TraceStore


def _reply(request: LLMRequest) -> dict[str, Any]:
    user = request.messages[-1].content
    name = user.rsplit("Now act as ", 1)[-1].split(":", 1)[0]
    heard = user.count("said")
    return {"actions": [{"type": "TALK", "content": f"{name} says hi ({heard})", "target": ""},
                        {"type": "DONE"}],
            "cognitive_state": {"goals": f"goal of {name}", "context": ["room"], "attention": "others",
                                "emotions": "curious"}}


def _script(path: Path, *, greeting: str = "Welcome", steps: int = 2, parallel: bool = True,
            **begin: Any) -> tuple[control.Simulation, ScriptedBackend, TinyWorld]:
    backend = ScriptedBackend(_reply)
    sim = control.begin(path, backend=backend, quiet=True, **begin)
    try:
        world = TinyWorld("Room", [TinyPerson(n) for n in ("Ana", "Ben", "Cai")],
                          initial_datetime=datetime(2025, 1, 6, 9), seed=3, parallelize=parallel)
        world.make_everyone_accessible()
        world.broadcast(greeting, source="Host")
        world.run(steps)
    except BaseException:
        control.reset()
        raise
    return sim, backend, world


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Any:
    yield
    control.reset()


def test_rerun_is_served_from_the_cache_with_an_identical_trace(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.sqlite"
    _, backend, _ = _script(path)
    assert backend.calls == 6 and control.cache_misses() == 6 and control.cache_hits() == 0
    control.end()
    first = Trace(path).canonical()

    one_by_one: list[str] = []
    real_get = ResponseCache.get
    monkeypatch.setattr(ResponseCache, "get", lambda self, key: one_by_one.append(key) or real_get(self, key))
    sim2, backend2, _ = _script(path)
    assert backend2.calls == 0, "a replay must not reach the backend"
    assert one_by_one == [], "a replay reads the recorded answers ahead, in one query"
    assert control.cache_hits() == 6 and control.cache_misses() == 0
    assert sim2.divergences == [] and not sim2.resumed
    control.end()
    with Trace(path) as trace:
        assert trace.canonical() == first
        assert len(trace.runs()) == 1, "the rerun replaces the older run's trace"
        kinds = {e["kind"] for e in first}
        assert {"stimulus", "action", "llm_call", "step", "checkpoint"} <= kinds
        summary = trace.summary()
        assert summary["cached_calls"] == summary["llm_calls"] == 6
        assert summary["prompt_tokens"] > 0 and summary["paid_prompt_tokens"] == summary["paid_completion_tokens"] == 0


def test_a_changed_script_reports_the_first_divergence_and_continues_live(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _script(path)
    control.end()
    sim, backend, _ = _script(path, greeting="Welcome, friends")
    assert backend.calls == 6  # every prompt holds the greeting: all live again
    assert {d.agent for d in sim.divergences} == {"Ana", "Ben", "Cai"}
    first = sim.divergences[0]
    assert first.step == 1 and first.purpose == "action" and first.position == 0
    assert "Welcome" in first.description and "friends" in first.description
    assert "message" in first.description
    control.end()
    events = Trace(path).events(kinds=["divergence"])
    assert len(events) == 3 and events[0]["description"] == sim.divergences[0].description

    # A third run of the changed script replays it (the recording followed the divergence).
    sim3, backend3, _ = _script(path, greeting="Welcome, friends")
    assert backend3.calls == 0 and sim3.divergences == []


def test_divergence_in_a_later_step_names_that_step(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _script(path, steps=3, parallel=False)
    control.end()
    backend = ScriptedBackend(_reply)
    sim = control.begin(path, backend=backend, quiet=True)
    world = TinyWorld("Room", [TinyPerson(n) for n in ("Ana", "Ben", "Cai")],
                      initial_datetime=datetime(2025, 1, 6, 9), seed=3, parallelize=False)
    world.make_everyone_accessible()
    world.broadcast("Welcome", source="Host")
    world.run(2)
    world.get_agent_by_name("Ben").think("I changed my mind")  # type: ignore[union-attr]
    world.run(1)
    assert [d.agent for d in sim.divergences] == ["Ben"] and sim.divergences[0].step == 3
    assert "I changed my mind" in sim.divergences[0].description
    assert backend.calls >= 1 and control.cache_hits() >= 6


def test_checkpoint_holds_every_state_and_restores_it(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    sim, _, world = _script(path, seed=11, auto_checkpoint=1)
    assert world.seed == 3 and sim.random.random() == __import__("random").Random(11).random()
    cps = sim.checkpoints.list("default")
    assert [c["step"] for c in cps] == [1, 2]
    cp = sim.checkpoints.latest("default")
    assert cp is not None
    assert cp.state["worlds"][0] == json.loads(json.dumps(world.to_state()))
    lone = TinyPerson("Solo")
    lone.think("alone")
    sim.track(lone)
    control.checkpoint("manual")
    control.end()

    backend = ScriptedBackend(_reply)
    with control.Simulation(path, backend=backend, quiet=True) as sim2:
        fresh = TinyWorld("Room", initial_datetime=datetime(2000, 1, 1))
        solo = TinyPerson("Solo")
        restored = sim2.restore(fresh, solo)
        assert restored.label == "end"
        assert fresh.to_state() == world.to_state()
        assert solo.to_state() == lone.to_state()
        with pytest.raises(SimulationError, match="no world named 'Nowhere'"):
            sim2.restore(TinyWorld("Nowhere"))


def test_a_crash_in_the_middle_of_a_checkpoint_write_keeps_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = CheckpointStore(path)
    store.save("s", {"n": 1}, step=1)
    store.close()
    # The child writes a second checkpoint and dies (os._exit, like kill -9) after the row is
    # inserted and before the transaction commits.
    code = textwrap.dedent(f"""
        import os
        from tinytroupe.storage import checkpoints
        def die(self, conn, sim):
            os._exit(9)
        checkpoints.CheckpointStore._prune = die
        checkpoints.CheckpointStore({str(path)!r}).save("s", {{"n": 2}}, step=2)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    store = CheckpointStore(path)
    latest = store.latest("s")
    assert latest is not None and latest.state == {"n": 1} and latest.step == 1
    # An exception mid-write rolls back the same way, and the store goes on working.
    original = CheckpointStore._prune
    try:
        CheckpointStore._prune = lambda self, conn, sim: (_ for _ in ()).throw(OSError("disk full"))  # type: ignore
        with pytest.raises(OSError):
            store.save("s", {"n": 3})
    finally:
        CheckpointStore._prune = original  # type: ignore[method-assign]
    assert store.latest("s").state == {"n": 1}  # type: ignore[union-attr]
    store.save("s", {"n": 4})
    store.save("s", {"n": 5})
    store.save("s", {"n": 6})
    assert [c["id"] for c in store.list("s")] == sorted(c["id"] for c in store.list("s"))
    assert len(store.list("s")) == 3  # bounded: keep=3
    store.close()


def test_cache_bounds_and_statistics_in_the_run_file(tmp_path: Path) -> None:
    backend = ScriptedBackend(["a", "b", "c", "d"], cycle=True)
    with control.Simulation(tmp_path / "run.sqlite", backend=backend, quiet=True, cache_max_entries=2) as sim:
        for q in ("q1", "q2", "q3", "q1"):
            sim.client.complete([{"role": "user", "content": q}])
        stats = sim.cache.stats()
        assert stats["entries"] == 2 and stats["evictions"] >= 1
        assert sim.cache_misses() == 4 and sim.cache_hits() == 0  # q1 was evicted before it came back
        sim.client.complete([{"role": "user", "content": "q1"}])
        assert sim.cache_hits() == 1


def test_begin_api_compatibility_and_single_active_simulation(tmp_path: Path) -> None:
    before = set_default_client(None)
    try:
        sim = control.begin(cache_path=tmp_path / "study.cache.json", id="s1",
                            backend=ScriptedBackend(["x"], cycle=True), quiet=True)
        assert sim.path.name == "study.sqlite" and control.current_simulation() is sim
        assert get_default_client() is sim.client
        with pytest.raises(SimulationError, match="still running"):
            control.begin(tmp_path / "other.sqlite", quiet=True)
        control.reset()
        assert control.current_simulation() is None
        with pytest.raises(SimulationError, match="no simulation is running"):
            control.checkpoint()
        assert get_default_client() is not sim.client
    finally:
        set_default_client(before)


def test_begin_says_where_the_run_file_is_and_that_it_resumes(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.sqlite"
    sim = control.begin(path, backend=ScriptedBackend(["x"], cycle=True))
    assert str(path.resolve()) in capsys.readouterr().err
    sim.client.complete([{"role": "user", "content": "hi"}])
    sim.flush()
    # Simulate a crash: the run is left "running" and never ended (the dead process's scope, and its
    # hold on the garbage collector's freeze, go too).
    sim._active = False
    sim.writer.close()
    if sim._scope_token is not None:
        scope.leave(sim._scope_token)
        sim._scope_token = None
    if sim._gc_held:
        sim._gc_held = False
        gc_freeze.release()
    sim2 = control.begin(path, backend=ScriptedBackend(["x"], cycle=True))
    try:
        err = capsys.readouterr().err
        assert sim2.resumed and "resuming" in err and "1 LLM answers cached" in err
    finally:
        control.reset()
    assert scope.current() is None


def test_trace_store_batches_in_order_and_exports(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    store = TraceStore(path)
    store.start_run("t")
    bus = EventBus()
    bus.subscribe(store)
    for i in range(2000):
        bus.publish(WarningEvent(code=f"c{i}", message="m", agent=f"A{i % 3}", data={"i": i}))
    store.end_run()
    store.close()
    assert store.writer.batches < 2000  # batched, not one transaction per event
    trace = Trace(path)
    events = trace.events()
    assert [e["code"] for e in events] == [f"c{i}" for i in range(2000)]
    assert len(trace.events(agent="A1")) == 667
    frame = trace.to_pandas(kinds=["warning"])
    assert len(frame) == 2000 and {"pos", "code", "agent", "data"} <= set(frame.columns)
    assert trace.to_jsonl(tmp_path / "t.jsonl") == 2000
    assert json.loads((tmp_path / "t.jsonl").read_text().splitlines()[5])["code"] == "c5"
    pytest.importorskip("pyarrow")
    import pandas as pd

    assert trace.to_parquet(tmp_path / "t.parquet") == 2000
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert list(back["code"][:3]) == ["c0", "c1", "c2"] and json.loads(back["data"][7]) == {"i": 7}


def test_a_trace_row_holds_exactly_the_event_s_model_dump_json(tmp_path: Path) -> None:
    # Run files written before keep reading the same: the row is the event's JSON as pydantic dumps it
    # (excluded fields left out, text kept as UTF-8, floats and nested values as they were).
    events: list[Event] = [
        LLMCallEvent(model="m", purpose="action", agent="Zoë", world="Café", step=2, latency_s=0.0000969940010691,
                     cache_hit=True, prompt_tokens=401, client="local-client"),
        ActionEvent(action_type="TALK", content='Say "hi" \u2014 naïve\n\ttab <b>/</b> 日本', target="Ben"),
        StimulusEvent(stimulus_type="SOCIAL", content="x" * 3000, source=None, sim_time="2025-01-06T09:00:00"),
        MemoryEvent(operation="evict", usage_ratio=1e-7, items=[{"a": [1, 2.5, None, True], "b": {"c": "é"}}]),
        WarningEvent(code="w", message="m", data={"big": 10**20, "neg": -0.0, "inf": 1e300, "list": ["é", 1]}),
        StepEvent(phase="end", agents=3, wall_s=12345.678901234567),
    ]
    path = tmp_path / "run.sqlite"
    store = TraceStore(path)
    run_id = store.start_run("t")
    bus = EventBus()
    bus.subscribe(store)
    for event in events:
        bus.publish(event)
    store.end_run()
    store.close()
    with Trace(path) as trace:
        rows = trace._conn.execute("SELECT pos, kind, data, typeof(data) FROM trace WHERE run_id = ? ORDER BY pos",
                                   (run_id,)).fetchall()
    assert [(pos, kind) for pos, kind, _, _ in rows] == [(i, e.kind) for i, e in enumerate(events)]
    assert [data for _, _, data, _ in rows] == [e.model_dump_json() for e in events]
    assert {kind for _, _, _, kind in rows} == {"text"} and '"client"' not in rows[0][2]


def test_cli_trace_prints_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _script(path)
    control.end()
    result = CliRunner().invoke(app, ["trace", str(path)])
    assert result.exit_code == 0, result.output
    for word in ("agents", "steps", "LLM calls", "tokens", "errors"):
        assert word in result.output
    data = json.loads(CliRunner().invoke(app, ["trace", str(path), "--json"]).output)
    assert data["agents"] == 3 and data["steps"] == 2 and data["llm_calls"] == 6 and data["errors"] == 0
    assert data["prompt_tokens"] > 0
    missing = CliRunner().invoke(app, ["trace", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code != 0 and "no run file" in missing.output


def test_lower_layers_do_not_import_control() -> None:
    root = Path(__file__).resolve().parents[2] / "tinytroupe"
    for sub in ("agent", "environment", "llm", "storage", "embeddings"):
        for file in (root / sub).rglob("*.py"):
            bad = re.findall(r"^\s*(?:from|import) tinytroupe(?:\.| import )(?:control|replay)\b",
                             file.read_text(), flags=re.M)
            assert not bad, f"{file} imports the control layer: {bad}"
    assert os.path.exists(root / "scope.py")


def test_lone_agents_created_during_a_simulation_are_checkpointed(tmp_path: Path) -> None:
    backend = ScriptedBackend(_reply)
    sim = control.begin(tmp_path / "lone.sqlite", backend=backend, quiet=True)
    lone = TinyPerson("Dora")
    lone.listen("Hello Dora", source="Host")
    lone.act()
    world = TinyWorld("Room", [TinyPerson("Eve")], initial_datetime=datetime(2025, 1, 6, 9))
    state = sim.to_state()
    assert [a["name"] for a in state["agents"]] == ["Dora"]  # Eve is saved with her world
    assert [w["name"] for w in state["worlds"]] == [world.name]
    assert any(i["content"] == "Hello Dora" for i in state["agents"][0]["memory"]["items"])
    control.end()


def test_worlds_without_initial_datetime_replay_after_the_clock_has_moved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Prompts carry the simulated time: under a simulation the default clock start is recorded at the
    first run and reused, so a re-run hours later still replays with zero backend calls."""
    wall = {"now": datetime(2031, 5, 4, 10, 17, 42)}

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Clock:
            return cls.fromisoformat(wall["now"].isoformat())

    monkeypatch.setattr(world_module, "datetime", Clock)
    monkeypatch.setattr(control.run_file, "datetime", Clock)  # where the clock start is recorded
    path = tmp_path / "run.sqlite"

    def script() -> tuple[int, list[datetime], str]:
        backend = ScriptedBackend(_reply)
        control.begin(path, backend=backend)
        worlds = [TinyWorld(name, [TinyPerson(f"{name}-{n}") for n in ("Ana", "Ben")], seed=3)
                  for name in ("Room", "Hall")]  # no initial_datetime
        starts = [w.current_datetime for w in worlds]
        for world in worlds:
            world.make_everyone_accessible()
            world.broadcast("Welcome", source="Host")
            world.run(2)
        control.end()
        return backend.calls, starts, capsys.readouterr().err

    calls, starts, notice = script()
    assert calls == 8 and starts == [datetime(2031, 5, 4, 10, 17)] * 2
    assert "new run" in notice and "start at 2031-05-04 10:17 (recorded: re-runs start there too)" in notice
    wall["now"] += timedelta(hours=5, minutes=3)
    calls, starts, notice = script()
    assert calls == 0, "a re-run with the clock moved must replay from the cache"
    assert starts == [datetime(2031, 5, 4, 10, 17)] * 2
    assert "start at 2031-05-04 10:17, as recorded at the first run" in notice
    assert "free" not in notice and "answered from the cache, changed ones go to the model" in notice
    # Outside a simulation the default is still now, to the minute.
    assert TinyWorld("Alone").current_datetime == datetime(2031, 5, 4, 15, 20)


def test_the_notice_warns_when_an_older_file_recorded_no_clock_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.sqlite"
    _, _, _ = _script(path)
    control.end()
    conn = __import__("sqlite3").connect(path)
    conn.execute("DELETE FROM simulation_info")  # as a file written before clock starts were recorded
    conn.commit()
    conn.close()
    capsys.readouterr()
    control.begin(path, backend=ScriptedBackend(_reply))
    assert "no start was recorded by the earlier run" in capsys.readouterr().err


_json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | (
    st.sampled_from(["\x00", "\x00\x00", "\x000", "x" * 30, "\x00" + "y" * 30, "z" * 24]) | st.text(max_size=40))
_json_values = st.recursive(_json_leaves, lambda inner: st.lists(inner, max_size=5)
                            | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=40)


@given(st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
@settings(max_examples=300, deadline=None)
def test_checkpoint_packing_round_trips_any_json_state_exactly(state: dict[str, Any]) -> None:
    packed = pack(state)
    assert unpack(json.loads(json.dumps(packed))) == state
    strings = packed["strings"]
    assert len(strings) == len(set(strings)), "a shared string is stored once"


def test_a_conversation_checkpoint_stores_shared_memories_and_vectors_once(tmp_path: Path) -> None:
    def talk(request: LLMRequest) -> dict[str, Any]:
        reply = _reply(request)
        reply["actions"][0]["content"] += " - and I think the coffee here is far too expensive for students"
        return reply

    path = tmp_path / "run.sqlite"
    sim = control.begin(path, backend=ScriptedBackend(talk), quiet=True)
    world = TinyWorld("Room", [TinyPerson(n) for n in ("Ana", "Ben", "Cai", "Dee")],
                      initial_datetime=datetime(2025, 1, 6, 9), seed=3)
    world.make_everyone_accessible()
    world.broadcast("Welcome to the new cafe: what do you think of the menu?", source="Host")
    world.run(3)
    for agent in world.agents:
        agent.memories.sync_index()  # embed every memory now (a long run does it as memory outgrows the prompt)
    twin = TinyPerson("Twin")  # its index holds the very same vectors as Ana's: stored once
    twin.memories.load_state(world.agents[0].memories.to_state(include_episodic=False) | {
        "episodic": world.agents[0].memory.to_state()})
    state = sim.to_state()
    cp = sim.checkpoint()
    plain = len(json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    ana = state["worlds"][0]["agents"][0]["long_term_memory"]["index"]["vectors"]
    assert ana and ana == state["agents"][0]["long_term_memory"]["index"]["vectors"]
    assert set(ana) <= set(pack(state)["strings"]), "a vector held by two agents is stored once"
    assert cp.json_bytes < plain * 0.7, (cp.json_bytes, plain)
    assert cp.state == json.loads(json.dumps(state))  # it decodes to the very same state
    original = world.to_state()
    control.end()
    with control.Simulation(path, backend=ScriptedBackend(talk), quiet=True) as sim2:
        fresh = TinyWorld("Room", initial_datetime=datetime(2000, 1, 1))
        sim2.restore(fresh)
        assert fresh.to_state() == original
