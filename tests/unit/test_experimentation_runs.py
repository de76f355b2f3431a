"""ABRandomizer, InPlaceExperimentRunner (one arm per run, and both arms in one world) and batch_run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import DONE_TURN, START, is_action_request

from tinytroupe import ResultsExtractor, RunContext, TinyPerson, TinyWorld, using_context
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, InvalidState, NotFound, StorageError
from tinytroupe.experimentation import ABRandomizer, InPlaceExperimentRunner, batch_run, replication_seed
from tinytroupe.experimentation.batch import abatch_run
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

# -- ABRandomizer ---------------------------------------------------------------------------------


def test_randomizer_orders_differ_between_items_and_repeat_per_seed() -> None:
    first, again = ABRandomizer(random_seed=3), ABRandomizer(random_seed=3)
    orders = [first.randomize(i, "a", "b") for i in range(40)]
    assert orders == [again.randomize(i, "a", "b") for i in reversed(range(40))][::-1]  # order of calls is irrelevant
    assert 10 < sum(o == ("b", "a") for o in orders) < 30  # both orders, about half each
    assert orders != [ABRandomizer(random_seed=4).randomize(i, "a", "b") for i in range(40)]


def test_randomizer_decodes_blind_names_and_passthrough() -> None:
    r = ABRandomizer(passtrough_name=["neither"], random_seed=1)
    for i in range(10):
        shown_first, _ = r.randomize(i, "control text", "treatment text")
        real = r.derandomize_name(i, "A")
        assert real == ("control" if shown_first == "control text" else "treatment")
        assert {real, r.derandomize_name(i, "B")} == {"control", "treatment"}
        assert r.derandomize_name(i, "neither") == "neither"
        assert r.derandomize(i, *r.randomize(i, "x", "y")) == ("x", "y")
    with pytest.raises(InvalidArgument, match="'C'"):
        r.derandomize_name(0, "C")
    with pytest.raises(NotFound):
        r.derandomize_name(99, "A")
    restored = ABRandomizer.from_dict(json.loads(json.dumps(r.to_dict())))
    assert [restored.derandomize_name(i, "A") for i in range(10)] == [r.derandomize_name(i, "A") for i in range(10)]
    by_name = [ABRandomizer(random_seed=1).randomize(f"item-{i}", 1, 2) for i in range(20)]
    assert by_name == [ABRandomizer(random_seed=1).randomize(f"item-{i}", 1, 2) for i in range(20)]
    assert len(set(by_name)) == 2


# -- InPlaceExperimentRunner: TinyTroupe's one-arm-per-run idiom -------------------------------------


def _notebook_run(path: Path, rating: list[int]) -> str | None:
    """One execution of a notebook following TinyTroupe's idiom: the arm comes from the file."""
    runner = InPlaceExperimentRunner(str(path))
    runner.add_experiment("Control")
    runner.add_experiment("Treatment")
    runner.activate_next_experiment()
    active = runner.get_active_experiment()
    if active is not None:
        runner.add_experiment_results({"rating": rating})
    return active


def test_runner_persists_arms_across_notebook_reruns(tmp_path: Path) -> None:
    path = tmp_path / "experiment_config.json"
    assert _notebook_run(path, [5, 6, 5, 6, 5]) == "Control"
    assert _notebook_run(path, [8, 9, 8, 9, 8]) == "Treatment"
    assert _notebook_run(path, [1]) is None  # every arm done: nothing more is stored
    runner = InPlaceExperimentRunner(str(path))
    assert runner.has_finished_all_experiments() and runner.get_unfinished_experiments() == []
    assert runner.get_experiment_results() == {"Control": {"rating": [5, 6, 5, 6, 5]},
                                               "Treatment": {"rating": [8, 9, 8, 9, 8]}}
    results = runner.run_statistical_tests("Control")
    assert results["Treatment"]["rating"].significant
    stored = json.loads(path.read_text())["experiments"]["Control"]["statistical_test_results_vs_others"]
    assert stored["Treatment"]["rating"]["p_value"] == pytest.approx(results["Treatment"]["rating"].p_value)


def test_runner_merge_fix_finish_and_errors(tmp_path: Path) -> None:
    runner = InPlaceExperimentRunner(str(tmp_path / "e.json"))
    with pytest.raises(InvalidState):
        runner.activate_next_experiment()
    runner.add_experiment("A")
    runner.add_experiment("B")
    runner.fix_active_experiment("B")
    runner.add_experiment_results({"m": [1, 2]})
    runner.add_experiment_results({"m": 3, "n": [1]})
    assert runner.get_experiment_results("B") == {"m": [1, 2, 3], "n": [1]}
    runner.add_experiment_results({"m": [9]}, merge=False)
    assert runner.get_experiment_results("B")["m"] == [9]
    assert runner.finish_active_experiment() and runner.get_active_experiment() is None
    assert not runner.finish_active_experiment()
    assert runner.get_unfinished_experiments() == ["A"]
    with pytest.raises(InvalidState):
        runner.add_experiment_results({"m": [1]})
    with pytest.raises(NotFound):
        runner.fix_active_experiment("C")
    with pytest.raises(InvalidArgument, match="'A' has no results"):
        runner.run_statistical_tests("A")


def test_a_damaged_experiment_file_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text("{not json")
    with pytest.raises(StorageError, match=str(path)):
        InPlaceExperimentRunner(str(path))
    path.write_text('{"something": "else"}')
    with pytest.raises(StorageError, match="not an experiment file"):
        InPlaceExperimentRunner(str(path))
    assert path.read_text() == '{"something": "else"}'  # left as it was


# -- InPlaceExperimentRunner: control and treatment in one world ----------------------------------------


def _responder(request: LLMRequest) -> Any:
    if is_action_request(request):
        return DONE_TURN
    # The extraction prompt holds the agent's record: those who heard the premium pitch rate higher.
    return {"rating": 8 if "premium" in request.messages[-1].content else 4}


def test_both_arms_in_one_world_on_the_scripted_backend(tmp_path: Path) -> None:
    client = LLMClient(ScriptedBackend(_responder))
    agents = [TinyPerson(name) for name in ("Ana", "Bo", "Cy", "Di", "Ed", "Flo")]
    world = TinyWorld("Shop", agents, initial_datetime=START, client=client, communication_display=False)
    runner = InPlaceExperimentRunner(str(tmp_path / "e.json"))
    runner.add_experiment("Control")
    runner.add_experiment("Treatment")
    with using_context(RunContext.for_client(client, seed=5)):
        arms = runner.assign_agents(agents)  # the run's seed
    assert sorted(map(len, arms.values())) == [3, 3]
    for agent in runner.agents_in("Treatment", agents):
        agent.listen("Try our premium plan.", source="Clerk")
    for agent in runner.agents_in("Control", agents):
        agent.listen("Try our basic plan.", source="Clerk")
    world.run(1)
    extractor = ResultsExtractor("the rating", fields={"rating": "int"}, client=client)
    results = extractor.extract_results_from_agents(agents)
    runner.add_agent_results(results.by_agent)
    assert runner.get_experiment_results("Treatment") == {"rating": [8, 8, 8]}
    assert runner.get_experiment_results("Control") == {"rating": [4, 4, 4]}
    again = InPlaceExperimentRunner(str(tmp_path / "e.json"))
    assert again.assign_agents(agents, seed=999) == arms  # assignments are kept, whatever the seed now
    with pytest.raises(NotFound):
        again.experiment_of("Zed")


def test_assignment_is_seeded_balanced_and_needs_a_seed(tmp_path: Path) -> None:
    def split(seed: int, name: str) -> dict[str, list[str]]:
        runner = InPlaceExperimentRunner(str(tmp_path / name))
        for arm in ("A", "B", "C"):
            runner.add_experiment(arm)
        return runner.assign_agents([f"p{i}" for i in range(10)], seed=seed)

    assert split(1, "x.json") == split(1, "y.json") != split(2, "z.json")
    assert sorted(map(len, split(3, "w.json").values())) == [3, 3, 4]
    runner = InPlaceExperimentRunner(str(tmp_path / "n.json"))
    runner.add_experiment("A")
    runner.add_experiment("B")
    with pytest.raises(InvalidArgument, match="needs a seed"):
        runner.assign_agents(["a", "b"])
    with pytest.raises(InvalidArgument, match="distinct"):
        runner.assign_agents(["a", "a"], seed=1)


# -- batch_run ------------------------------------------------------------------------------------


def test_batch_grid_seeds_replications_and_failures() -> None:
    calls: list[tuple[int, str, int]] = []

    def model(size: int, tone: str, seed: int) -> dict[str, Any]:
        calls.append((size, tone, seed))
        if size == 3 and seed == 2:
            raise ValueError("this run broke")
        return {"score": size * 10 + seed % 7}

    df = batch_run(model, {"size": [1, 3], "tone": "calm"}, seeds=[1, 2], replications=2)
    assert list(df.columns) == ["RunId", "iteration", "seed", "run_seed", "size", "tone", "score", "status", "error"]
    assert df["RunId"].tolist() == list(range(8)) and len(calls) == 8
    assert df["iteration"].tolist() == [0, 1] * 4 and df["seed"].tolist() == [1, 1, 2, 2] * 2
    assert df["run_seed"].tolist()[:2] == [1, replication_seed(1, 1)] and replication_seed(1, 1) != 1
    failed = df[df["status"] == "failed"]
    assert failed["RunId"].tolist() == [6] and failed["error"].tolist() == ["ValueError: this run broke"]
    assert pd.isna(failed["score"]).all()  # nothing invented for the failed run
    assert df.loc[df["status"] == "ok", "score"].notna().all()
    assert df.attrs["failures"] == [{"RunId": 6, "error": "ValueError: this run broke"}]


def test_batch_per_agent_rows_and_collector() -> None:
    def model(n: int, seed: int) -> list[str]:
        return [f"agent{i}" for i in range(n)]

    df = batch_run(model, {"n": [1, 2]}, seeds=[7],
                   data_collector=lambda names: [{"AgentID": name, "len": len(name)} for name in names])
    assert df[["RunId", "n", "AgentID"]].values.tolist() == [[0, 1, "agent0"], [1, 2, "agent0"], [1, 2, "agent1"]]
    bad = batch_run(lambda n, seed: 42, {"n": 1}, seeds=[1])
    assert bad["status"].tolist() == ["failed"] and "InvalidArgumentType" in bad["error"][0]
    clash = batch_run(lambda n, seed: {"seed": 1}, {"n": 1}, seeds=[1])
    assert "clash" in clash["error"][0]


def test_batch_async_runs_run_concurrently_and_bounded() -> None:
    in_flight = peak = 0

    async def model(x: int, seed: int) -> dict[str, int]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return {"y": x + seed}

    df = batch_run(model, {"x": range(6)}, seeds=[0])
    assert peak == 6 and df["y"].tolist() == list(range(6))
    peak = 0
    batch_run(model, {"x": range(6)}, seeds=[0], max_concurrency=2)
    assert peak == 2


def test_batch_runs_worlds_on_the_scripted_backend() -> None:
    def model(n_agents: int, seed: int) -> TinyWorld:
        client = LLMClient(ScriptedBackend(lambda request: DONE_TURN))
        world = TinyWorld("Room", [TinyPerson(f"P{i}") for i in range(n_agents)], initial_datetime=START,
                          client=client, seed=seed, communication_display=False)
        world.run(1)  # the sync API, from the batch's worker thread
        return world

    df = batch_run(model, {"n_agents": [1, 2]}, seeds=[3, 4],
                   data_collector=lambda world: [{"AgentID": a.name} for a in world.agents])
    assert df["status"].eq("ok").all() and len(df) == 6


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"seeds": []}, InvalidArgument, "explicitly"),
    ({"seeds": [1, 1]}, InvalidArgument, "distinct"),
    ({"seeds": [1.5]}, InvalidArgument, "non-negative ints"),
    ({"seeds": 3}, InvalidArgumentType, "list of ints"),
    ({"seeds": [1], "replications": 0}, InvalidArgument, "replications"),
    ({"seeds": [1], "max_concurrency": 0}, InvalidArgument, "max_concurrency"),
    ({"seeds": [1], "parameters": {"seed": [1, 2]}}, InvalidArgument, "clashes"),
    ({"seeds": [1], "parameters": {"x": []}}, InvalidArgument, "no value"),
])
def test_batch_rejects_bad_arguments_before_running(kwargs: dict[str, Any], error: type[Exception],
                                                    match: str) -> None:
    ran: list[int] = []
    arguments = {"parameters": {"x": [1]}, **kwargs}
    with pytest.raises(error, match=match):
        batch_run(lambda x=0, seed=0: ran.append(seed) or {}, **arguments)
    assert ran == []


async def test_abatch_run_is_the_async_twin() -> None:
    async def model(seed: int) -> dict[str, int]:
        return {"double": seed * 2}

    df = await abatch_run(model, {}, seeds=[1, 2])
    assert df["double"].tolist() == [2, 4]


# -- TinyTroupe's signatures, called positionally as a TinyTroupe script would --------------------------


def test_tinytroupe_positional_signatures(tmp_path: Path) -> None:
    from tinytroupe.experimentation import StatisticalTester
    from tinytroupe.validation import SimulationExperimentEmpiricalValidator, validate_simulation_experiment_empirically

    r = ABRandomizer("control", "treatment", "A", "B", ["none"], 42)
    assert r.randomize(0, "x", "y") in (("x", "y"), ("y", "x")) and r.derandomize_name(0, "none") == "none"
    tester = StatisticalTester({"c": {"results": {"m": [1, 2, 3]}}}, {"t": {"results": {"m": [4, 5, 6]}}}, "results")
    assert tester.run_test("welch_t_test", 0.05)["t"]["m"]["p_value"] < 0.05
    runner = InPlaceExperimentRunner(str(tmp_path / "e.json"))
    runner.add_experiment("Control")
    runner.add_experiment_results({"m": [1]}, "Control", True)
    assert runner.get_experiment_results("Control") == {"m": [1]}
    csv_path = tmp_path / "real.csv"
    csv_path.write_text("agent,score,comment\nA,3,ok\nB,4,good\nC,3,fine\n", encoding="utf-8")
    real = SimulationExperimentEmpiricalValidator.read_empirical_data_from_csv(
        csv_path, "single_value_per_agent", "agent", "comment", None, "score", "real", "a test", "utf-8")
    assert real.description == "a test" and real.agent_justifications == ["ok", "good", "fine"]
    sim = {"name": "sim", "key_results": {"score": [2, 3, 2]}, "result_types": {"score": "per_agent"}}
    report = validate_simulation_experiment_empirically(real.model_dump(), sim, ["statistical"], "mann_whitney",
                                                        0.05, "report")
    assert isinstance(report, str) and "Mann-Whitney U test" in report
