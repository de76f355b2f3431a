"""Cost before and after: prices, the estimate of a scenario, the run's cost summary, the budget stop
(CLI, scenario runner, Simulation) and the prompt-prefix meter."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinytroupe.agent import TinyPerson
from tinytroupe.cli import EXIT_BUDGET, app
from tinytroupe.config import Settings, load_settings
from tinytroupe.control import Simulation
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import BudgetExceeded, ConfigError
from tinytroupe.events import EventBus
from tinytroupe.llm import (
    DEFAULT_PRICES,
    Budget,
    BudgetWrapper,
    LLMClient,
    ModelPrice,
    PrefixMeter,
    PriceTable,
    ScriptedBackend,
    load_price_table,
)
from tinytroupe.llm.demo import demo_backend
from tinytroupe.llm.prefix import common_prefix_length
from tinytroupe.llm.types import Completion, Usage
from tinytroupe.scenario.estimate import estimate_scenario
from tinytroupe.scenario.loader import load_scenario
from tinytroupe.scenario.study import run_study, study_settings
from tinytroupe.storage.trace_store import Trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()
HI = [{"role": "user", "content": "hi"}]


# -- prices ------------------------------------------------------------------------------------------


def test_price_table_prices_known_models_and_dated_snapshots_and_never_guesses() -> None:
    assert DEFAULT_PRICES.as_of  # the default table says when its prices were read
    assert DEFAULT_PRICES.cost("gpt-4.1-mini", 2_000_000, 1_000_000) == pytest.approx(0.8 + 1.6)
    assert DEFAULT_PRICES.cost("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.5)
    assert DEFAULT_PRICES.cost("llama3.1:8b", 10, 10) is None


def test_price_file_is_laid_over_the_default_table(tmp_path: Path) -> None:
    toml = tmp_path / "prices.toml"
    toml.write_text('as_of = "2030-01-01"\n[models."gpt-4.1-mini"]\ninput = 1.0\noutput = 2.0\n'
                    '[models."llama3.1:8b"]\ninput = 0.0\noutput = 0.0\n')
    table = load_price_table(toml)
    assert table.cost("gpt-4.1-mini", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert table.cost("llama3.1:8b", 10, 10) == 0.0 and table.price("gpt-4o") is not None
    assert table.as_of == "2030-01-01" and table.source == str(toml)
    data = tmp_path / "prices.json"
    data.write_text(json.dumps({"as_of": "2030", "models": {"m": {"input": 1}}}, indent=1))
    with pytest.raises(ConfigError) as err:
        load_price_table(data)
    assert "prices.json:" in str(err.value) and "models.m.output" in str(err.value)
    with pytest.raises(ConfigError, match="no such price file"):
        load_price_table(tmp_path / "missing.toml")


@pytest.mark.parametrize("value", ["true", '"1.5"'])
def test_a_price_of_the_wrong_type_is_refused_not_coerced(value: str, tmp_path: Path) -> None:
    # true would be priced $1 and "1.5" $1.5: a price the file does not state is an invented one
    toml = tmp_path / "prices.toml"
    toml.write_text(f'as_of = "2030-01-01"\n[models."gpt-4.1-mini"]\ninput = {value}\noutput = 2.0\n')
    with pytest.raises(ConfigError, match=r"prices.toml:3: models.gpt-4.1-mini.input: .*number"):
        load_price_table(toml)


def test_a_toml_price_error_names_the_line_of_its_field(tmp_path: Path) -> None:
    toml = tmp_path / "prices.toml"
    toml.write_text('as_of = "2030-01-01"\n# gpt-4.1 is dearer\n[models."gpt-4.1-mini"]\ninput = 1.0\n'
                    'output = 2.0\n\n[models."gpt-4.1"]\ninput = 3.0\noutput = -8.0\n')
    with pytest.raises(ConfigError, match=r"prices.toml:9: models.gpt-4.1.output: .*greater than") as err:
        load_price_table(toml)
    assert err.value.line == 9
    toml.write_text('as_of = "2030-01-01"\n[models."gpt-4.1"]\ninput = 3.0\n')
    with pytest.raises(ConfigError, match=r"prices.toml:2: models.gpt-4.1.output: Field required"):
        load_price_table(toml)  # a missing field: the line of its model


def test_budget_section_in_settings(tmp_path: Path) -> None:
    ini = tmp_path / "config.ini"
    ini.write_text("[Budget]\nMAX_COST_USD = 0.25\nMAX_CALLS = 40\n")
    s = load_settings(ini, env={})
    assert (s.budget.max_cost_usd, s.budget.max_calls, s.budget.max_tokens) == (0.25, 40, None)
    ini.write_text("[Budget]\nMAX_CALLS = 0\n")
    with pytest.raises(ConfigError, match=r"config.ini:2: \[Budget\] MAX_CALLS"):
        load_settings(ini, env={})


# -- the budget wrapper ------------------------------------------------------------------------------


def test_budget_refuses_the_call_that_would_pass_it_and_stays_stopped() -> None:
    backend = ScriptedBackend(["a"], cycle=True)
    client = LLMClient(BudgetWrapper(backend, Budget(max_calls=3)))
    for _ in range(3):
        client.complete(HI)
    with pytest.raises(BudgetExceeded) as err:
        client.complete(HI, agent="Ana", purpose="action")
    assert err.value.limit == "calls" and err.value.spent["calls"] == 3 and err.value.agent == "Ana"
    assert len(backend.requests) == 3  # the refused call never reached the backend
    with pytest.raises(BudgetExceeded):
        client.complete(HI)
    # a refused call is not a call: the ledger counts the three that were made
    assert client.get_cost_stats()["total"]["calls"] == 3


def test_cost_budget_reserves_each_calls_worst_case_before_it_is_made() -> None:
    prices = PriceTable(as_of="test", models={"scripted": ModelPrice(input=1_000_000.0, output=1_000_000.0)})
    # $1 per token: "hi" is 1 prompt token, max_tokens=5 reserves 5 more: $6 per call at worst
    client = LLMClient(BudgetWrapper(ScriptedBackend(["ok"], cycle=True), Budget(max_cost_usd=13), prices=prices))
    client.complete(HI, max_tokens=5)
    client.complete(HI, max_tokens=5)  # spent so far: 2 x (1 + 1 answer token) = $4; + $6 worst case = $10
    with pytest.raises(BudgetExceeded) as err:
        client.complete(HI, max_tokens=9)  # $4 + $10 worst case > $13
    assert err.value.limit == "cost" and err.value.spent["cost_usd"] == pytest.approx(4.0)


def test_concurrent_calls_cannot_all_pass_the_check() -> None:
    backend = ScriptedBackend(["ok"], cycle=True, latency_s=0.05)
    client = LLMClient(BudgetWrapper(backend, Budget(max_calls=10)))

    async def many() -> list[object]:
        return await asyncio.gather(*(client.acomplete(HI) for _ in range(64)), return_exceptions=True)

    outcomes = asyncio.run(many())
    assert sum(1 for o in outcomes if not isinstance(o, BaseException)) == 10
    assert all(isinstance(o, BudgetExceeded) for o in outcomes if isinstance(o, BaseException))
    assert len(backend.requests) == 10


def test_a_cost_budget_for_an_unpriced_model_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="needs the price of model 'mystery'"):
        BudgetWrapper(ScriptedBackend(["ok"], model="mystery"), Budget(max_cost_usd=1.0))
    BudgetWrapper(ScriptedBackend(["ok"], model="mystery"), Budget(max_calls=1))  # calls need no price


def test_an_answer_named_for_another_model_is_charged_at_the_price_of_the_model_asked_for() -> None:
    # an Azure deployment (or a server that names its underlying model) answers as "Qwen/Qwen2.5-7B": the
    # table prices the deployment asked for, and that price is charged, so the budget keeps counting; an
    # unknown cost counted as $0 had let a $10 budget pay for any number of $2 calls
    prices = PriceTable(as_of="test", models={"my-deploy": ModelPrice(input=1_000_000.0, output=1_000_000.0)})
    answer = Completion(text="ok", model="Qwen/Qwen2.5-7B", backend="scripted",
                        usage=Usage(prompt_tokens=1, completion_tokens=1))
    backend = ScriptedBackend([answer], cycle=True, model="my-deploy")
    wrapper = BudgetWrapper(backend, Budget(max_cost_usd=10), prices=prices)
    client = LLMClient(wrapper)
    with pytest.raises(BudgetExceeded) as err:
        for _ in range(20):
            client.complete(HI, max_tokens=2)
    made = len(backend.requests)
    assert 1 < made < 10 and err.value.limit == "cost"
    assert wrapper.spent()["cost_usd"] == pytest.approx(2.0 * made) and 2.0 * made <= 10


def test_a_cost_budget_stops_once_a_spent_cost_is_unknown() -> None:
    # a share settled with an unknown cost (a worker's answer no price fits): counting it as $0 would never stop
    prices = PriceTable(as_of="test", models={"m": ModelPrice(input=1.0, output=1.0)})
    wrapper = BudgetWrapper(ScriptedBackend(["ok"], cycle=True, model="m"), Budget(max_cost_usd=10), prices=prices)
    with wrapper._lock:
        wrapper._spent.add(1, 1, 1, float("nan"))
    with pytest.raises(BudgetExceeded, match="what was spent is unknown") as err:
        LLMClient(wrapper).complete(HI, max_tokens=2)
    assert err.value.limit == "cost"


# -- the estimate -------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_estimate_is_within_ten_percent_of_the_actual_calls(example: str, tmp_path: Path) -> None:
    # Every example: activity schedules (office_day), quiz grading (classroom), validation (anes_survey),
    # experiments (ab_test), stories, tools and each world kind. A classroom's rubric judge calls are an
    # upper bound (an empty answer is not judged); the demo model answers every question, so it holds here.
    scenario = load_scenario(EXAMPLES / example)
    est = estimate_scenario(scenario, settings=study_settings(scenario, backend="scripted"), base_dir=EXAMPLES)
    outputs = run_study(EXAMPLES / example, out=tmp_path, backend="scripted", quiet=True)
    actual = outputs.result.cost
    events = [json.loads(line) for line in outputs.trace.read_text().splitlines()]
    # the run's reported cost counts every call it made, a validation's after the run included
    assert actual["calls"] == sum(1 for e in events if e["kind"] == "llm_call") > 0
    assert abs(est.calls - actual["calls"]) <= 0.1 * actual["calls"], (est.calls, actual["calls"])
    # tokens are an estimate: the prompts are rendered, the answers typical
    assert 0.5 * actual["prompt_tokens"] <= est.prompt_tokens <= 1.5 * actual["prompt_tokens"]
    generated = scenario.population is not None and scenario.population.generated  # stand-ins in the estimate
    if scenario.extraction is not None and scenario.experiment is None and not generated:
        assert set(est.first_prompt_tokens) == set(outputs.result.results)


def test_estimate_grows_with_steps_and_agents_and_prices_what_it_can(tmp_path: Path) -> None:
    base = load_scenario(EXAMPLES / "focus_group.yaml")
    paid = study_settings(base, backend="openai", model="gpt-4.1-mini")
    longer = base.model_copy(update={"script": [*base.script, *base.script]})
    one, two = (estimate_scenario(s, settings=paid, base_dir=EXAMPLES) for s in (base, longer))
    assert (one.calls, two.calls) == (9, 12)
    assert two.prompt_tokens > one.prompt_tokens and one.cost_usd is not None and two.cost_usd > one.cost_usd
    assert "2025" in one.cost_note
    unknown = estimate_scenario(base, settings=study_settings(base, backend="openai", model="mystery"),
                                base_dir=EXAMPLES)
    assert unknown.cost_usd is None and "mystery" in unknown.cost_note and unknown.calls == 9
    llm_rated = estimate_scenario(base, settings=paid.model_copy(update={"memory": paid.memory.model_copy(
        update={"importance_scoring": "llm"})}), base_dir=EXAMPLES)
    assert {x.purpose: x.calls for x in llm_rated.by_purpose}["importance"] == 6


def test_cli_estimate_prints_a_table_and_calls_nothing_without_a_key(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for var in [v for v in os.environ if v.startswith(("OPENAI_", "AZURE_OPENAI", "TINYTROUPE_"))]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(EXAMPLES / "survey.yaml"), "-b", "openai", "-m", "gpt-4.1-mini",
                                 "--estimate", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "total" in result.output and "48" in result.output and "as of" in result.output
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written
    prices = tmp_path / "p.toml"
    prices.write_text('as_of = "2030-01-01"\n[models.mystery]\ninput = 100.0\noutput = 100.0\n')
    unknown = runner.invoke(app, ["run", str(EXAMPLES / "survey.yaml"), "-b", "openai", "-m", "mystery", "--estimate"])
    assert "unknown" in unknown.output and unknown.exit_code == 0
    priced = runner.invoke(app, ["run", str(EXAMPLES / "survey.yaml"), "-b", "openai", "-m", "mystery", "--estimate",
                                 "--prices", str(prices)])
    assert "2030-01-01" in priced.output and "unknown" not in priced.output.split("cost:")[0]


# -- actual figures and the budget stop ----------------------------------------------------------------


def test_run_summary_reports_cost_per_result_and_prefix_reuse(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-q",
                                 "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "3 results" in result.output and "per result" in result.output and "prompt prefix" in result.output
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["cost_usd"] == 0.0 and data["result_count"] == 3 and data["cost_per_result_usd"] == 0.0
    assert data["prefix"]["calls"] == data["cost"]["calls"] == 9
    assert set(data["prefix"]["agents"]) == {"Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira"}


def test_cli_budget_stops_cleanly_with_everything_so_far_written(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-q",
                                 "-o", str(tmp_path), "--max-calls", "4"])
    assert result.exit_code == EXIT_BUDGET, result.output
    assert "Stopped by the budget" in result.output and "4 calls" in result.output
    assert "turn failed" not in result.output  # the refused turns are said once, in the closing line
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["stopped"] and "4 calls" in data["stopped"] and data["cost"]["calls"] == 4 and data["steps"] == 1
    kinds = [json.loads(line)["kind"] for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    assert kinds.count("llm_call") == 4 and "warning" in kinds


def test_a_run_stopped_before_its_extraction_has_a_failed_row_per_agent(tmp_path: Path) -> None:
    # the budget refuses Oscar's step-2 turn: Lisa's turn stands but nobody is asked the extraction, so every
    # agent has no result, and its row says so (none is invented, none is left out)
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-q",
                                 "-o", str(tmp_path), "--max-calls", "4"])
    assert result.exit_code == EXIT_BUDGET, result.output
    data = json.loads((tmp_path / "results.json").read_text())
    assert list(data["results"]) == ["Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira"]
    assert all(row["status"] == "failed" and "BudgetExceeded" in row["error"] for row in data["results"].values())
    assert data["failed"] == 3 and data["result_count"] == 0
    assert len((tmp_path / "results.csv").read_text().splitlines()) == 4


@pytest.mark.parametrize("limit", ["inf", "1e400"])
def test_cli_refuses_an_infinite_budget_with_a_message(limit: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-q",
                                 "-o", str(tmp_path / "o"), "--budget", limit])
    assert result.exit_code == 1 and "Error:" in result.output and "max_cost_usd" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert not (tmp_path / "o" / "results.json").exists()


def test_budget_from_settings_stops_a_study(tmp_path: Path) -> None:
    config = tmp_path / "tinytroupe.toml"
    config.write_text("[budget]\nmax_tokens = 3000\n")
    outputs = run_study(EXAMPLES / "survey.yaml", out=tmp_path / "o", backend="scripted", quiet=True, config=config)
    assert outputs.result.stopped is not None and "tokens" in outputs.result.stopped
    assert outputs.result.cost["total_tokens"] <= 3000


def test_simulation_budget_stops_the_world_and_keeps_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    sim = Simulation(path, seed=1, backend=demo_backend(seed=1), quiet=True, budget=Budget(max_calls=7),
                     settings=Settings())
    with pytest.raises(BudgetExceeded), sim:
        world = TinyWorld("W", [TinyPerson(n) for n in ("Ana", "Ben", "Cy")], communication_display=False)
        world.make_everyone_accessible()
        world.broadcast("hello")
        world.run(5)
    assert world.current_step == 3  # the refused call's step ended; no later step ran
    assert sim.last_checkpoint is not None and sim.last_checkpoint.label == "budget"
    with Trace(path) as trace:
        summary = trace.summary()
    assert summary["status"] == "budget_exceeded" and summary["llm_calls"] == 7


# -- the prefix meter ---------------------------------------------------------------------------------


def test_common_prefix_length() -> None:
    assert common_prefix_length("abcdef", "abcxyz") == 3
    assert common_prefix_length("abc", "abc") == 3 and common_prefix_length("abc", "abcd") == 3
    assert common_prefix_length("x" * 10_000 + "a", "x" * 10_000 + "b") == 10_000


def test_prefix_meter_per_agent_and_across_agents() -> None:
    meter = PrefixMeter(ScriptedBackend(["ok"], cycle=True), min_prefix_tokens=100)
    client = LLMClient(meter, bus=EventBus())
    shared = {"role": "system", "content": "Rules. " * 100}  # 700 characters: 175 tokens
    for name in ("Ana", "Ben", "Ana"):
        persona = {"role": "system", "content": f"You are {name}. " * 50}
        client.complete([shared, persona, {"role": "user", "content": "now"}], agent=name)
    report = meter.report()
    ana, ben = report.agents["Ana"], report.agents["Ben"]
    assert ana.calls == 2 and ben.calls == 1
    assert ana.cacheable_same_agent == 1 and ana.mean_share_same_agent == pytest.approx(0.5, abs=0.01)
    assert ben.mean_share_same_agent == 0 and ben.mean_share_any > 0.5  # Ben shares the rules with Ana
    assert report.cacheable_any == 2 and report.calls == 3
