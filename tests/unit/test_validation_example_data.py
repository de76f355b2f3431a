"""The shipped real dataset (ANES 1996 subset): its counts as documented, its source note, and a whole
validation of scripted simulated people against it."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import is_action_request

from tinytroupe import ResultsExtractor, TinyPerson
from tinytroupe.errors import DataFileError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.validation import (
    ANES1996_OPTIONS,
    ANES1996_PARTY_IDS,
    SimulationExperimentDataset,
    SimulationExperimentEmpiricalValidationResult,
    example_data_path,
    load_anes1996_self_placement,
    validate_simulation_experiment_empirically,
)

# The counts of statsmodels' anes96.csv (selfLR, PID and vote columns), as SOURCE.md states them.
SELF_PLACEMENT = [16, 103, 147, 256, 170, 218, 34]
PARTY_ID = [200, 180, 108, 37, 94, 150, 175]


def test_the_shipped_file_has_the_documented_counts() -> None:
    real = load_anes1996_self_placement()
    overall = real.cell_data(None)
    assert overall is not None and overall.counts is not None
    assert overall.counts.astype(int).tolist() == SELF_PLACEMENT and overall.n == 944
    assert real.cells() == list(ANES1996_PARTY_IDS)
    assert [real.cell_data(c).n for c in real.cells()] == PARTY_ID  # type: ignore[union-attr]
    by_vote = load_anes1996_self_placement("expected_vote")
    assert {c: by_vote.cell_data(c).n for c in by_vote.cells()} == {"Dole": 393, "Clinton": 551}  # type: ignore[union-attr]
    assert real.source is not None and "public domain" in real.source


def test_the_source_note_names_source_licence_and_checksum() -> None:
    note = example_data_path("SOURCE.md").read_text(encoding="utf-8")
    for text in ("American National Election Studies", "statsmodels", "This is public domain.", "BSD 3-clause",
                 "c124d8556d6f8c4329b1fea61e3dc6891c5e663f15b7fe5791235963420ba896", "not the ANES questionnaire"):
        assert text in note, text
    rows = example_data_path("anes1996_self_placement.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "respondent,party_id,self_placement,expected_vote" and len(rows) == 945
    assert Counter(r.split(",")[2] for r in rows[1:]) == dict(zip(ANES1996_OPTIONS, SELF_PLACEMENT, strict=True))
    assert hashlib.sha256("\n".join(rows).encode()).hexdigest()  # readable as UTF-8 text, no stray bytes
    with pytest.raises(DataFileError, match="no such example data file"):
        example_data_path("nope.csv")


def _leaning(party: str) -> str:
    return {"Strong Democrat": "Liberal", "Weak Democrat": "Slightly liberal", "Strong Republican": "Conservative",
            "Weak Republican": "Slightly conservative"}.get(party, "Moderate")


def _responder(request: LLMRequest) -> Any:
    assert not is_action_request(request)
    prompt = request.messages[-1].content
    party = next(p for p in ANES1996_PARTY_IDS if f"a {p}" in prompt)
    return {"self_placement": _leaning(party)}


def test_scripted_population_against_the_real_answers(tmp_path: Path) -> None:
    client = LLMClient(ScriptedBackend(_responder))
    people, cells = [], []
    for party in ANES1996_PARTY_IDS:
        for i in range(3):
            person = TinyPerson(f"{party} {i}", client=client)
            person.listen(f"You are a {party}. Where do you stand politically?", source="Interviewer")
            people.append(person)
            cells.append(party)
    extractor = ResultsExtractor("The person's political self-placement.", client=client,
                                 fields={"self_placement": {"type": "str", "choices": list(ANES1996_OPTIONS)}})
    answers = [r["self_placement"] for r in extractor.extract_results_from_agents(people)]
    simulated = SimulationExperimentDataset.from_responses(answers, options=ANES1996_OPTIONS, cells=cells,
                                                           name="scripted simulation")
    real = load_anes1996_self_placement()
    result = validate_simulation_experiment_empirically(
        real, simulated, ["statistical"], no_persona_baseline={"Moderate": 0.5, "Conservative": 0.5})
    assert isinstance(result, SimulationExperimentEmpiricalValidationResult)
    v = result.distribution_results
    assert v is not None and [c.cell for c in v.cells] == list(ANES1996_PARTY_IDS)
    strong_dem = v.cells[0]
    assert strong_dem.simulated.shares["Liberal"] == 1.0 and strong_dem.real.n == 200
    assert strong_dem.welch_t is not None and strong_dem.ks is not None
    assert v.overall.baseline("no_persona") is not None and strong_dem.baseline("no_persona") is None
    assert result.overall_score == pytest.approx(1 - v.overall.distance.tvd)
    page = tmp_path / "anes.html"
    result.save_report(page)
    assert page.read_text(encoding="utf-8").count("<svg") == 8
