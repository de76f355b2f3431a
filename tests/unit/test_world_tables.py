"""A specialised world's metrics tables reach the run's output folder (world_<name>.csv) and results.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinytroupe.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(("example", "tables", "column"), [
    ("marketplace", {"market", "holdings"}, "price_cents"),
    ("retail_store", {"customers", "purchases", "dwell", "heatmap"}, "customer"),
    ("workplace", {"tasks", "task_status", "messages_by_line"}, None),
    ("classroom", {"participation", "scores"}, "student"),
])
def test_the_world_tables_are_written_beside_the_results(tmp_path: Path, example: str, tables: set[str],
                                                          column: str | None) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / f"{example}.yaml"), "-b", "scripted", "-q", "-o",
                                      str(out)])
    assert result.exit_code == 0, result.output
    written = {p.name.removeprefix("world_").removesuffix(".csv") for p in out.glob("world_*.csv")}
    assert written == tables
    saved = json.loads((out / "results.json").read_text())["world_metrics"]
    assert set(saved) == tables
    first = sorted(tables)[0] if column is None else next(t for t in sorted(tables) if column in
                                                          (saved[t][0] if saved[t] else {}))
    with (out / f"world_{first}.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(saved[first])


def test_a_plain_world_writes_no_world_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-q", "-o",
                                      str(out)])
    assert result.exit_code == 0, result.output
    assert not list(out.glob("world_*.csv"))
    assert json.loads((out / "results.json").read_text())["world_metrics"] == {}
