"""The command line: run (scripted demo model), chat, and the errors a user sees."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tinytroupe.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def test_run_focus_group_on_the_scripted_backend_writes_all_outputs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "--backend", "scripted",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Results" in result.output and "Lisa Brennan" in result.output
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["results"]) == 3
    assert all(1 <= r["rating"] <= 10 for r in data["results"].values())
    assert (tmp_path / "results.csv").read_text().startswith("agent,rating,reason")
    assert (tmp_path / "trace.jsonl").stat().st_size > 0


def test_run_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        out = tmp_path / str(i)
        result = runner.invoke(app, ["run", str(EXAMPLES / "survey.yaml"), "-b", "scripted", "-q", "-o", str(out),
                                     "--seed", "3"])
        assert result.exit_code == 0, result.output
        outs.append(json.loads((out / "results.json").read_text())["results"])
    assert outs[0] == outs[1] and len(outs[0]) == 24


def test_a_broken_scenario_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nagents:\n  - example: lisa\nscript:\n  - brodcast: hello\n  - run: 1\n")
    result = runner.invoke(app, ["run", str(bad), "-b", "scripted", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert f"{bad}:5" in flat.replace(" ", "") or "bad.yaml:5" in flat.replace(" ", "")
    assert "brodcast" in flat
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_missing_scenario_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.yaml"), "-b", "scripted"])
    assert result.exit_code != 0
    assert "does not exist" in " ".join(result.output.split())


def test_an_unknown_backend_is_refused_with_the_choices() -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "--backend", "gpt"])
    assert result.exit_code == 2
    assert "local" in result.output and "scripted" in result.output


def test_chat_with_an_example_persona() -> None:
    result = runner.invoke(app, ["chat", "lisa", "--backend", "scripted"], input="Hello Lisa!\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "Chatting with Lisa Brennan" in result.output
    assert "Lisa Brennan:" in result.output or "thinks" in result.output


def test_chat_with_an_unknown_persona_lists_the_examples() -> None:
    result = runner.invoke(app, ["chat", "nobody", "--backend", "scripted"])
    assert result.exit_code == 1
    assert "lisa" in result.output and "oscar" in result.output
