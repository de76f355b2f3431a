"""The roadmap's memory-monitoring examples (Phase 1, Task 1.3), run as a user would write them.

Each test holds one of the roadmap's four examples essentially verbatim (its comments included).
The only adaptations: the model is a scripted one (the process default client, so ``TinyPerson("Alice")``
needs no argument), memory is bounded at 100 items so that 100 memories reach the alert thresholds,
files go to a temporary folder, and assertions follow each example.
"""

from __future__ import annotations

import asyncio
import doctest
import itertools
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import turn

import tinytroupe.agent.memory.facade as memory_facade_module
import tinytroupe.agent.person as person_module
import tinytroupe.monitoring.memory_monitor as monitor_module
import tinytroupe.monitoring.monitor_reports as monitor_reports_module
import tinytroupe.monitoring.profiler as profiler_module
import tinytroupe.monitoring.records as records_module
import tinytroupe.visualization.memory_html as html_module
import tinytroupe.visualization.memory_visualizer as visualizer_module
import tinytroupe.visualization.svg_charts as svg_module
from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings, TinyTroupeCompatibilityWarning, using_settings
from tinytroupe.events import MemoryEvent
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.default import set_default_client
from tinytroupe.monitoring import MemoryAlert, MemoryMonitor, MemoryProfiler
from tinytroupe.visualization import MemoryVisualizer

#: memory bound of these tests: the roadmap's examples store 100 memories
MAX_SIZE = 100


def roadmap_backend() -> ScriptedBackend:
    """Answers agent turns (a THINK), consolidation summaries (one new fact each) and reconciliation (ADD)."""
    numbers = itertools.count(1)

    def answer(request: LLMRequest) -> Any:
        if request.schema_name == "ActionTurn":
            return turn(("THINK", "I keep track of my day"))
        if request.schema_name == "ConsolidatedFacts":
            return {"facts": [{"content": f"Remembered fact number {next(numbers)}", "importance": 6}]}
        if request.schema_name == "ReconcileDecisions":
            count = (request.response_schema or {})["properties"]["decisions"]["minItems"]
            return {"decisions": [{"operation": "ADD"}] * count}
        raise AssertionError(f"unexpected request {request.schema_name!r}")

    return ScriptedBackend(answer)


@pytest.fixture
def backend() -> Iterator[ScriptedBackend]:
    """The scripted model as the process default, and memory bounded at 100 with consolidation at 30."""
    backend = roadmap_backend()
    previous = set_default_client(LLMClient(backend))
    settings = Settings(memory={"max_episodic_memory_size": MAX_SIZE, "auto_consolidation_threshold": 30,
                                "embedder": "hash"})
    try:
        with using_settings(settings):
            yield backend
    finally:
        set_default_client(previous)


def filled_agent(name: str, count: int) -> TinyPerson:
    agent = TinyPerson(name)
    for i in range(count):
        agent.store_in_memory({"content": f"Memory {i}", "type": "stimulus"})
    return agent


# ------------------------------------------------------------------------- Example 1: basic monitoring

def test_example_1_basic_memory_monitoring(backend: ScriptedBackend, capsys: pytest.CaptureFixture[str]) -> None:
    from tinytroupe.agent import TinyPerson
    from tinytroupe.monitoring import MemoryMonitor

    # Create monitor
    monitor = MemoryMonitor(alert_threshold=0.8)

    # Create and track agent
    agent = TinyPerson("Alice")
    monitor.track_agent(agent)

    # During simulation, record snapshots
    with pytest.warns(TinyTroupeCompatibilityWarning) as warned:
        for i in range(100):
            agent.store_in_memory({
                'content': f'Memory {i}',
                'type': 'action',
                'simulation_timestamp': f'2024-01-{i:03d}'
            })

            # Record snapshot every 10 memories
            if i % 10 == 0:
                monitor.record_snapshot(agent)

    # Check statistics
    stats = monitor.get_agent_stats("Alice")
    print(f"Memory trend: {stats['memory_trend']}")
    print(f"Total alerts: {stats['total_alerts']}")

    # Get alerts
    alerts = monitor.get_alerts(agent_name="Alice", severity="warning")
    for alert in alerts:
        print(alert)

    # Generate report
    report = monitor.generate_report("Alice")
    print(report)

    # '2024-01-000' is no date: accepted, said once, stored without a simulated time (Alice is in no world).
    assert [str(w.message) for w in warned if "simulation_timestamp" in str(w.message)] == [
        "Alice: simulation_timestamp '2024-01-000' is not an ISO date-time (e.g. '2025-01-06T09:00:00'); such "
        "memories are stored with the agent's current simulated time (none: it is in no world) (said once per agent)"]
    assert len(warned) == 1
    assert [(i.kind, i.type, i.content, i.sim_time) for i in agent.memory.items()][:2] == [
        ("action", "ACTION", "Memory 0", None), ("action", "ACTION", "Memory 1", None)]
    assert len(agent.memory) == 100 and backend.calls == 0  # storing makes no LLM call

    # Snapshots: the ten taken by hand (sizes 1, 11 .. 91) and, from the bus, the memory's
    # near-limit warning at 80 items.
    snaps = monitor.snapshots("Alice")
    assert [(s.source, s.episodic_size) for s in snaps if s.source == "agent"] == [
        ("agent", 1 + 10 * k) for k in range(10)]
    assert [(s.operation, s.episodic_size) for s in snaps if s.source == "event"] == [("warning", 80)]
    assert stats["memory_trend"] == "increasing" and stats["total_snapshots"] == 11
    assert stats["current_memory_size"] == 91 and stats["peak_memory_size"] == 91
    sizes = [s.episodic_size for s in snaps]  # 1, 11 .. 71, 80, 81, 91
    slope = float(np.polyfit(range(len(sizes)), sizes, 1)[0])  # an independent least-squares fit
    assert stats["max_memory_size"] == MAX_SIZE and stats["growth_per_snapshot"] == pytest.approx(slope)

    # One warning, raised the moment usage reached 80%, with the figures of that moment.
    assert stats["total_alerts"] == 1 and stats["alerts_by_severity"] == {"info": 0, "warning": 1, "critical": 0}
    [warning] = alerts
    assert (warning.agent_name, warning.alert_type, warning.severity, warning.value) == (
        "Alice", "threshold", "warning", 0.8)
    assert warning.memory_stats["episodic_size"] == 80 and warning.memory_stats["usage_ratio"] == 0.8
    assert isinstance(warning.timestamp, datetime) and warning.timestamp.tzinfo is not None
    assert monitor.get_alerts(agent_name="Alice", severity="critical") == []
    assert monitor.get_alerts(agent_name="Bob") == []

    out = capsys.readouterr().out
    assert "Memory trend: increasing\nTotal alerts: 1\n" in out
    assert re.search(r"^\[WARNING\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d threshold: Alice: episodic memory 80% full "
                     r"\(80/100\), at or over the alert threshold 80%$", out, re.M)
    assert report.splitlines()[0] == "Memory report for Alice"
    assert "  snapshots:          11 (" in report
    assert "  episodic memory:    91 of 100 items (91% full); peak 91, mean " in report
    assert f"  trend:              increasing (+{slope:.2f} items per snapshot)" in report
    assert "  alerts:             1 (critical 0, warning 1, info 0)" in report

    # A full memory is critical; the warning is not repeated while usage stays over the threshold.
    monitor.record_snapshot(agent)
    [critical] = monitor.get_alerts(agent_name="Alice", severity="critical")
    assert critical.value == 1.0 and critical.memory_stats["episodic_size"] == 100
    assert "at or over the critical threshold 95%" in critical.message
    assert monitor.get_agent_stats("Alice")["total_alerts"] == 2


# ------------------------------------------------------------------------- Example 2: alert callbacks

def test_example_2_real_time_alert_callbacks(backend: ScriptedBackend, capsys: pytest.CaptureFixture[str]) -> None:
    agent = filled_agent("Bob", 96)

    from tinytroupe.monitoring import MemoryMonitor

    def handle_alert(alert):
        """Custom alert handler."""
        if alert.severity == "critical":
            print(f"CRITICAL: {alert.message}")
            # Take action (e.g., force consolidation, save state, etc.)
        elif alert.severity == "warning":
            print(f"WARNING: {alert.message}")

    # Set up monitoring with callback
    monitor = MemoryMonitor()
    monitor.register_alert_callback(handle_alert)

    # Alerts will automatically trigger callback
    monitor.track_agent(agent)
    monitor.record_snapshot(agent)  # May trigger alerts

    assert capsys.readouterr().out == (
        "CRITICAL: Bob: episodic memory 96% full (96/100), at or over the critical threshold 95%\n")

    # The callback also fires for what the monitor hears on the bus: another agent crossing 80%.
    carol = filled_agent("Carol", 79)
    monitor.track_agent(carol)
    carol.store_in_memory({"content": "one more", "type": "stimulus"})
    assert capsys.readouterr().out == (
        "WARNING: Carol: episodic memory 80% full (80/100), at or over the alert threshold 80%\n")
    # An untracked agent on the same bus is not followed once some agents are tracked.
    filled_agent("Dan", 85)
    assert monitor.agents == ["Bob", "Carol"] and capsys.readouterr().out == ""


# ------------------------------------------------------------------------- Example 3: visualization

def test_example_3_memory_visualization(backend: ScriptedBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the example writes its files to the current folder
    agent = TinyPerson("Alice")

    from tinytroupe.monitoring import MemoryMonitor
    from tinytroupe.visualization import MemoryVisualizer

    # Set up monitoring
    monitor = MemoryMonitor()
    monitor.track_agent(agent)

    # Record multiple snapshots
    for _ in range(50):
        agent.act()  # Simulate agent activity
        monitor.record_snapshot(agent)

    # Visualize
    viz = MemoryVisualizer(monitor)

    # Generate ASCII chart for quick view
    print(viz.print_ascii_chart("Alice", metric='memory_size'))

    # Export to JSON for Jupyter/Plotly
    json_data = viz.export_data_json("Alice")
    with open('memory_data.json', 'w') as f:
        f.write(json_data)

    # Generate HTML report
    html_report = viz.generate_html_report("Alice")
    with open('memory_report.html', 'w') as f:
        f.write(html_report)

    # Each turn is a THINK and a DONE: 100 items, consolidated automatically every 30 or so.
    stats = monitor.get_agent_stats("Alice")
    assert stats["current_memory_size"] == 100 and stats["memory_trend"] == "increasing"
    assert stats["consolidations"] == 3 and agent.get_consolidation_metrics()["automatic"] == 3

    timeline = viz.prepare_memory_timeline_data("Alice")
    hand = [n for n, op, src in zip(timeline["memory_sizes"], timeline["operations"],
                                    [s.source for s in monitor.snapshots("Alice")], strict=True) if src == "agent"]
    assert hand == [2 * k for k in range(1, 51)]  # the example's own snapshots, one per turn
    assert set(timeline["operations"]) == {"snapshot", "consolidate", "warning"}
    n = len(timeline["snapshot_numbers"])
    assert n == stats["total_snapshots"] and all(
        len(timeline[key]) == n for key in ("timestamps", "memory_sizes", "usage_ratios", "semantic_sizes"))

    consolidation = viz.prepare_consolidation_data("Alice")
    assert consolidation["total_consolidations"] == 3 and len(consolidation["items_consolidated"]) == 3
    assert consolidation["facts_written"] == [1, 1, 1] and all(c is True for c in consolidation["automatic"])
    assert consolidation["consolidation_counts"][-1] == 3
    assert consolidation["metrics"] is not None and consolidation["metrics"]["automatic"] == 3

    # The ASCII chart: title with the range, a labelled y axis, bars, the x axis.
    chart = capsys.readouterr().out.splitlines()
    shown = timeline["memory_sizes"][-60:]  # the chart's width: the last 60 snapshots
    assert chart[0] == f"Alice memory_size ({min(shown)} .. {max(shown)})" and max(shown) == 100
    assert chart[1].startswith("100 |") and chart[10].startswith(f"{min(shown):>3} |")
    assert chart[11] == "    +" + "-" * 60 and "#" in "".join(chart[1:11])
    assert chart[12].strip() == f"snapshots {n - 59}..{n}" and len(chart) == 13
    assert viz.print_ascii_chart("Alice", metric="usage_ratio", width=10, height=4).startswith(
        "Alice usage_ratio (")
    with pytest.raises(ValueError, match="unknown metric 'memory'"):
        viz.print_ascii_chart("Alice", metric="memory")

    # The JSON file round-trips to exactly what the visualizer and monitor hold.
    data = json.loads(Path("memory_data.json").read_text())
    assert data["timeline"] == timeline and data["consolidation"] == consolidation
    assert data["stats"] == stats and data["agent_name"] == "Alice"
    assert [MemoryAlert.model_validate(a) for a in data["alerts"]] == monitor.get_alerts(agent_name="Alice")

    # The HTML page: self-contained, with SVG charts that have axes, ticks and axis titles.
    page = Path("memory_report.html").read_text()
    assert page == html_report and page.startswith("<!doctype html>")
    for forbidden in ("<script", "<link", "src=", "href=", "http:", "https:", "@import", "url("):
        assert forbidden not in page
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    assert len(svgs) == 4  # size, usage, semantic/upkeep, consolidation bars
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed
        texts = {(el.get("class"), el.text) for el in root.iter("text")}
        axis_titles = [t for c, t in texts if c == "axis-title"]
        assert len(axis_titles) == 2 and len([c for c, _ in texts if c == "tick-label"]) >= 4
        assert len([el for el in root.iter("line") if el.get("class") == "axis-line"]) == 2
        assert any(c == "chart-title" for c, _ in texts)
    size_chart = ET.fromstring(svgs[0])
    assert {t.text for t in size_chart.iter("text") if t.get("class") == "axis-title"} == {
        "snapshot", "items in episodic memory"}
    assert any(el.tag == "polyline" for el in size_chart.iter())
    usage_chart = ET.fromstring(svgs[1])
    assert {t.text for t in usage_chart.iter("text") if t.get("class") == "tick-label"} >= {"0%", "100%"}
    assert len([el for el in usage_chart.iter("line") if el.get("class") == "reference"]) == 2  # 80%, 95%
    assert len([el for el in ET.fromstring(svgs[3]).iter("rect") if el.get("class") == "bar"]) == 6


# ------------------------------------------------------------------------- Example 4: profiling

def test_example_4_performance_profiling(backend: ScriptedBackend, capsys: pytest.CaptureFixture[str]) -> None:
    agent = TinyPerson("Alice")

    from tinytroupe.monitoring import MemoryProfiler

    profiler = MemoryProfiler()

    @profiler.profile
    def consolidate_memories(agent):
        """Profiled consolidation function."""
        agent.consolidate_episode_memories()

    @profiler.profile
    def store_memories(agent, count):
        """Profiled storage function."""
        for i in range(count):
            agent.store_in_memory({
                'content': f'Memory {i}',
                'type': 'action',
                'simulation_timestamp': f'2024-01-{i:03d}'
            })

    # Use profiled functions
    with pytest.warns(TinyTroupeCompatibilityWarning, match="simulation_timestamp"):
        consolidate_memories(agent)
        store_memories(agent, 100)

    # Print statistics
    profiler.print_stats()

    stats = profiler.stats()
    consolidate, store = stats[consolidate_memories.__qualname__], stats[store_memories.__qualname__]
    assert consolidate["calls"] == 1 and store["calls"] == 1
    assert 0 < store["min_s"] == store["mean_s"] == store["max_s"] == store["total_s"]
    assert backend.calls == 0  # an empty memory: nothing to consolidate, no LLM call
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["operation", "calls", "min", "ms", "mean", "ms", "max", "ms", "total", "s"]
    assert {line.split()[0] for line in out[1:]} == {consolidate_memories.__qualname__, store_memories.__qualname__}

    # The memories are stored; consolidation is now due, and consolidating asks the model once.
    assert len(agent.memory) == 100 and agent.should_consolidate()
    consolidate_memories(agent)
    assert not agent.should_consolidate() and agent.get_consolidation_metrics()["manual"] == 1
    assert agent.get_consolidation_metrics()["items_consolidated"] == 100
    # 100 items in chunks of 50 ([Memory] CONSOLIDATION_CHUNK_SIZE): two summaries, one fact each.
    assert agent.get_memory_stats()["semantic_size"] == 2
    assert [r.schema_name for r in backend.requests].count("ConsolidatedFacts") == 2
    assert profiler.stats()[consolidate_memories.__qualname__]["calls"] == 2
    assert agent.consolidate_episode_memories() is False  # nothing new since


def test_profiler_counts_calls_and_time_of_sync_and_async_functions() -> None:
    profiler = MemoryProfiler()

    @profiler.profile
    def slow() -> None:
        time.sleep(0.01)

    @profiler.profile("fetch")
    async def fetch() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    @profiler.profile
    def fails() -> None:
        raise RuntimeError("boom")

    for _ in range(3):
        slow()
    assert asyncio.run(fetch()) == "ok"
    with pytest.raises(RuntimeError):
        fails()
    stats = profiler.stats()
    s = stats[slow.__qualname__]
    assert s["calls"] == 3 and s["total_s"] >= 0.03 and s["min_s"] <= s["mean_s"] <= s["max_s"]
    assert s["mean_s"] == pytest.approx(s["total_s"] / 3)
    assert stats["fetch"]["calls"] == 1 and stats["fetch"]["min_s"] >= 0.01
    assert stats[fails.__qualname__]["calls"] == 1  # a call that raised is timed too
    assert slow.__name__ == "slow" and fetch.__name__ == "fetch"  # functools.wraps
    profiler.clear()
    assert profiler.stats() == {}


# ------------------------------------------------------------------------- the names, one by one

def test_store_in_memory_takes_tinytroupes_dict_shapes(backend: ScriptedBackend) -> None:
    ana = TinyPerson("Ana")
    stimuli = ana.store_in_memory({
        "role": "user", "type": "stimulus", "simulation_timestamp": "2025-01-06T09:00:00",
        "content": {"stimuli": [{"type": "CONVERSATION", "content": "Hi Ana", "source": "Ben"},
                                {"type": "VISUAL", "content": "a red bicycle", "source": ""}]}})
    [action] = ana.store_in_memory({
        "role": "assistant", "type": "action", "simulation_timestamp": "2025-01-06T09:01:00+01:00",
        "content": {"action": {"type": "talk", "content": "Hello Ben", "target": "Ben"},
                    "cognitive_state": {"goals": "chat"}}})
    [feedback] = ana.store_in_memory({"role": "system", "content": "Too long an answer"})
    [data] = ana.store_in_memory({"role": "user", "content": {"price": 12}})
    assert [(i.kind, i.type, i.content, i.source) for i in stimuli] == [
        ("stimulus", "CONVERSATION", "Hi Ana", "Ben"), ("stimulus", "VISUAL", "a red bicycle", None)]
    assert stimuli[0].sim_time == datetime(2025, 1, 6, 9, 0)
    # An aware time becomes naive UTC, comparable with the simulated clocks here.
    assert (action.kind, action.type, action.target, action.sim_time) == (
        "action", "TALK", "Ben", datetime(2025, 1, 6, 8, 1))
    assert (feedback.kind, feedback.type) == ("stimulus", "FEEDBACK")
    assert (data.type, data.content) == ("INFORMATION", '{"price": 12}')
    assert ana.memory.items()[-1] == data and ana.get_memory_stats()["episodic_size"] == 5
    # Stored stimuli are new to the agent: its next prompt shows them.
    assert 'Ben said: "Hi Ana"' in ana.build_prompt()[1].content.split("# New since your last turn", 1)[1]

    with pytest.warns(TinyTroupeCompatibilityWarning, match=r"memory keys \['importance'\] have no meaning"):
        ana.store_in_memory({"content": "x", "type": "stimulus", "importance": 3})
    with pytest.raises(TypeError, match="store_in_memory takes a dict in TinyTroupe's shape"):
        ana.store_in_memory("hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a memory needs 'content'"):
        ana.store_in_memory({"type": "stimulus"})
    with pytest.raises(ValueError, match="memory type 'thought' is not one of"):
        ana.store_in_memory({"content": "x", "type": "thought"})


def test_memory_alert_fields_old_names_positional_order_and_json() -> None:
    when = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    alert = MemoryAlert(when, "Ana", "threshold", "critical", "Ana: full", {"usage_ratio": 1.0})
    assert (alert.timestamp, alert.agent_name, alert.alert_type, alert.severity, alert.message,
            alert.memory_stats) == (when, "Ana", "threshold", "critical", "Ana: full", {"usage_ratio": 1.0})
    assert (alert.kind, alert.agent, alert.wall_time) == ("threshold", "Ana", when.timestamp())
    old = MemoryAlert(kind="threshold", agent="Ana", severity="critical", message="Ana: full",
                      memory_stats={"usage_ratio": 1.0}, wall_time=when.timestamp())
    assert old == alert
    assert MemoryAlert.model_validate_json(alert.model_dump_json()) == alert
    local = when.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert str(alert) == f"[CRITICAL] {local} threshold: Ana: full"
    with pytest.raises(ValueError, match="severity"):
        MemoryAlert(alert_type="threshold", severity="fatal", message="x")
    with pytest.raises(TypeError, match="both positionally and by keyword"):
        MemoryAlert(when, agent_name="Ana", timestamp=when, alert_type="x", severity="info", message="m")


def test_monitor_thresholds_names_and_event_input() -> None:
    assert MemoryMonitor(0.7).alert_threshold == 0.7  # the roadmap's monitor takes its threshold first
    assert MemoryMonitor(usage_threshold=0.6).alert_threshold == 0.6  # the earlier keyword
    assert MemoryMonitor(alert_threshold=0.97).critical_threshold == 0.97
    with pytest.raises(ValueError, match="same setting"):
        MemoryMonitor(alert_threshold=0.7, usage_threshold=0.6)
    with pytest.raises(ValueError, match="0 < alert_threshold <= critical_threshold"):
        MemoryMonitor(alert_threshold=0.9, critical_threshold=0.5)

    monitor = MemoryMonitor(alert_threshold=0.5, critical_threshold=0.9)
    seen: list[MemoryAlert] = []
    monitor.on_alert(seen.append)  # the earlier name of register_alert_callback
    for size in (40, 50, 60, 45, 55, 95, 30):  # events still go in as before
        monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ana", episodic_size=size, max_size=100,
                                            usage_ratio=size / 100))
    # A warning at each crossing of 50% (not while it stays over), a critical one at 90%.
    assert [(a.severity, a.value) for a in seen] == [("warning", 0.5), ("warning", 0.55), ("critical", 0.95)]
    assert monitor.get_alerts(agent="Ana", severity="warning") == seen[:2]  # the earlier keyword
    assert monitor.get_alerts("Ana", alert_type="threshold") == seen
    stats = monitor.get_agent_stats("Ana")
    assert stats["memory_trend"] == "increasing" and stats["total_alerts"] == 3
    assert stats["alerts_by_type"] == {"threshold": 3}
    for size in (90, 70, 50):
        monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Ben", episodic_size=size, max_size=100,
                                            usage_ratio=size / 100))
    assert monitor.get_agent_stats("Ben")["memory_trend"] == "decreasing"
    for size in (60, 61, 60, 60):
        monitor.record_snapshot(MemoryEvent(operation="snapshot", agent="Cy", episodic_size=size, max_size=100,
                                            usage_ratio=size / 100))
    assert monitor.get_agent_stats("Cy")["memory_trend"] == "stable"
    assert "Ana" in monitor.report() and monitor.generate_report() == monitor.report()
    with pytest.raises(KeyError, match="no agent named 'Zoe'"):
        monitor.get_agent_stats("Zoe")
    with pytest.raises(KeyError, match="no snapshots of 'Zoe'"):
        MemoryVisualizer(monitor).prepare_memory_timeline_data("Zoe")

    tracked = MemoryMonitor().track_agent("Zoe")  # tracked, no snapshot yet
    assert tracked.get_agent_stats("Zoe")["memory_trend"] == "insufficient_data"
    assert "no snapshots yet" in tracked.generate_report("Zoe")


def test_monitor_is_a_bus_subscriber_not_wired_into_agents(backend: ScriptedBackend) -> None:
    agent = TinyPerson("Alice")
    subscribers = agent.bus.subscriber_count  # the client's usage ledger
    idle = MemoryMonitor()  # never told about Alice
    watching = MemoryMonitor().track_agent(agent)
    agent.act()
    assert idle.agents == [] and [s.operation for s in watching.snapshots("Alice")] == ["snapshot"]
    watching.detach()
    agent.act()
    assert len(watching.snapshots("Alice")) == 1 and agent.bus.subscriber_count == subscribers


def test_public_docstring_examples_run() -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    finder = doctest.DocTestFinder()
    tests = []
    for module in (monitor_module, records_module, monitor_reports_module, profiler_module, visualizer_module,
                   html_module, svg_module):
        tests += finder.find(module)
    for module, objects in ((person_module, [TinyPerson.store_in_memory, TinyPerson.consolidate_episode_memories,
                                             TinyPerson.aconsolidate_episode_memories, TinyPerson.should_consolidate,
                                             TinyPerson.get_consolidation_metrics, TinyPerson.get_memory_stats]),
                            (memory_facade_module, [memory_facade_module.AgentMemory.store])):
        for obj in objects:
            tests += finder.find(obj, module=module, globs=dict(vars(module)))
    examples = 0
    for test in tests:
        runner.run(test)
        examples += len(test.examples)
    assert runner.summarize(verbose=False).failed == 0
    assert examples >= 60


def test_the_monitoring_example_in_docs_memory_md_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    doc = Path(__file__).parents[2] / "docs" / "memory.md"
    [code] = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    monkeypatch.chdir(tmp_path)
    previous = set_default_client(LLMClient(roadmap_backend()))
    try:
        with using_settings(Settings()):  # the documented defaults, whatever config this machine has
            exec(compile(code, "docs/memory.md", "exec"), {})
    finally:
        set_default_client(previous)
    out = capsys.readouterr().out
    assert "increasing 0\n[]\nMemory report for Alice\n" in out
    assert "Alice memory_size (1 .. 91)" in out and "remember" in out.splitlines()[-1]
    assert Path("memory_report.html").read_text().count("<svg") == 3
    assert json.loads(Path("memory_data.json").read_text())["stats"]["total_snapshots"] == 10
