"""Issue 9's fault suite: nothing lost, nothing invented, under every fault the mock server can inject.

A 50-agent survey (one question, two extracted fields) runs through the public path (scenario file,
``run_study`` or ``tinytroupe run``, the OpenAI backend) against the mock OpenAI server on 127.0.0.1.
Every fault kind runs at 10 % and all kinds mixed at 3 %, over several seeds; then a few harsh,
deterministic cases (every turn timing out, cut-off extractions only, ...) pin the failed-row contract.
:func:`tests.faults.survey.audit` holds the checks; a failure lists every violation it found.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tinytroupe.devtools.mock_openai_server import FAULT_KINDS, MockOpenAIServer

from .survey import (
    AGENTS,
    EXIT_SOME_FAILED,
    SHORT_TIMEOUT_S,
    SurveyOutcome,
    audit,
    is_extraction,
    is_turn,
    run_cli,
    run_cli_in_process,
    run_in_process,
    survey_reply,
    write_scenario,
)

#: fault kinds whose answer is wrong: a run that gets only those can have no "ok" row
WRONG_ANSWERS = ("malformed_json", "truncated_content", "truncated_content_stop", "wrong_schema")


def _short_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setenv("TINYTROUPE_OPENAI__TIMEOUT", str(SHORT_TIMEOUT_S))
    return SHORT_TIMEOUT_S + 3.0  # how long the mock hangs: well past the client's timeout


# -- every kind at 10 %, all kinds at 3 % ------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_at_10_percent(kind: str, seed: int, fault_env: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    hang = _short_timeout(fault_env) if kind == "timeout" else 30.0
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=0.1, fault_kinds=[kind], fault_seed=seed,
                          fault_hang_s=hang) as server:
        scenario = write_scenario(tmp_path, server.base_url)
        # Seed 1 goes through the Python API (ScenarioResult, DataFrame), seed 2 through the command line.
        run = run_in_process if seed == 1 else run_cli_in_process
        outcome = run(scenario, tmp_path / "out")
        injected = server.faults_injected
    assert injected.get(kind, 0) > 0, f"no {kind} fault was injected: this run proves nothing"
    found = audit(outcome)
    assert not found.problems, found.report()


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_all_kinds_mixed_at_3_percent_through_the_cli(seed: int, fault_env: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    hang = _short_timeout(fault_env)
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=0.03, fault_seed=seed, fault_hang_s=hang) as server:
        outcome = run_cli(write_scenario(tmp_path, server.base_url), tmp_path / "out")
        injected = server.faults_injected
    assert sum(injected.values()) > 0, "no fault was injected: this run proves nothing"
    found = audit(outcome)
    assert not found.problems, f"faults injected: {injected}\n{found.report()}"


# -- harsh cases with a known outcome -----------------------------------------------------------------------

def test_every_turn_timing_out_gives_failed_rows_and_exit_3(fault_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Defect 3: no answers invented for agents who never answered; the exit code says some failed."""
    hang = _short_timeout(fault_env)
    fault_env.setenv("TINYTROUPE_OPENAI__MAX_ATTEMPTS", "1")
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=1.0, fault_kinds=["timeout"], fault_when=is_turn,
                          fault_hang_s=hang) as server:
        outcome = run_cli(write_scenario(tmp_path, server.base_url), tmp_path / "out")
    found = audit(outcome)
    assert not found.problems, found.report()
    assert (found.ok, found.failed) == (0, AGENTS)
    assert outcome.exit_code == EXIT_SOME_FAILED


def test_one_agents_failure_keeps_the_others_answers(fault_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Defect 1: a truncated body in some extractions, no retries: those agents fail, the rest answer."""
    fault_env.setenv("TINYTROUPE_OPENAI__MAX_ATTEMPTS", "1")
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=0.3, fault_kinds=["truncated_body"], fault_seed=3,
                          fault_when=is_extraction) as server:
        outcome = run_in_process(write_scenario(tmp_path, server.base_url), tmp_path / "out")
        injected = server.faults_injected.get("truncated_body", 0)
    found = audit(outcome)
    assert not found.problems, found.report()
    assert injected > 0
    assert (found.ok, found.failed) == (AGENTS - injected, injected)


def test_one_agents_failure_gives_exit_3_through_the_cli(fault_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fault_env.setenv("TINYTROUPE_OPENAI__MAX_ATTEMPTS", "1")
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=0.3, fault_kinds=["truncated_body"], fault_seed=4,
                          fault_when=is_extraction) as server:
        outcome = run_cli(write_scenario(tmp_path, server.base_url), tmp_path / "out")
    found = audit(outcome)
    assert not found.problems, found.report()
    assert found.failed > 0 and found.ok > 0
    assert outcome.exit_code == EXIT_SOME_FAILED


@pytest.mark.parametrize("kind", WRONG_ANSWERS)
def test_wrong_extractions_are_never_accepted(kind: str, fault_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Defect 2: every extraction answer is wrong or cut off, re-asks included: every row must fail."""
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=1.0, fault_kinds=[kind], fault_seed=5,
                          fault_when=is_extraction) as server:
        outcome = run_in_process(write_scenario(tmp_path, server.base_url), tmp_path / "out")
        extraction_calls = sum(1 for body in server.chat_requests() if is_extraction(body))
    found = audit(outcome)
    assert not found.problems, found.report()
    assert (found.ok, found.failed) == (0, AGENTS)
    assert extraction_calls > AGENTS, "a bad answer must be re-asked before the row fails"


@pytest.mark.parametrize("kind", ["truncated_content", "truncated_content_stop"])
def test_cut_off_turns_are_never_accepted(kind: str, fault_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Defect 2 for agent turns: a cut-off action batch is re-asked, then the turn fails; never a cut TALK."""
    with MockOpenAIServer(reply_fn=survey_reply, fault_rate=1.0, fault_kinds=[kind], fault_seed=6,
                          fault_when=is_turn) as server:
        outcome = run_cli_in_process(write_scenario(tmp_path, server.base_url), tmp_path / "out")
    found = audit(outcome)
    assert not found.problems, found.report()
    assert (found.ok, found.failed) == (0, AGENTS)


def test_a_study_closes_its_connections(fault_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """After ``run_study`` returns, no connection to the model server is left open.

    Left open, they are finalised by the garbage collector whenever it runs, and when that happens in
    the middle of a later study in the same process (a notebook, a test run), some of that study's
    requests are never answered: each waits the full TIMEOUT and is retried.
    """
    with MockOpenAIServer(reply_fn=survey_reply) as server:
        outcome = run_in_process(write_scenario(tmp_path, server.base_url), tmp_path / "out")
        assert outcome.crash is None, outcome.crash
        deadline = time.monotonic() + 3.0
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.05)  # the server sees a client's close a moment after it happens
        left = server.open_connections
    assert left == 0, f"{left} connection(s) to the model server still open after run_study returned"


def test_the_audit_catches_what_it_is_meant_to(tmp_path: Path) -> None:
    """The checks themselves: a made-up run with one of each violation is caught, a clean one passes."""
    import json

    from .survey import ANSWER_END, TURN_END, agent_names

    names = agent_names(10)
    rows = {n: {"status": "ok", "preference": "hybrid", "reason": f"{n} said so. {ANSWER_END}"} for n in names}
    trace = [{"kind": "action", "action_type": "TALK", "agent": n, "content": f"hi {TURN_END}"} for n in names]

    def write(rows: dict[str, dict[str, object]], trace: list[dict[str, object]], failed: int) -> SurveyOutcome:
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        out.mkdir()
        (out / "results.json").write_text(json.dumps({"results": rows, "failed": failed, "errors": []}))
        (out / "trace.jsonl").write_text("\n".join(json.dumps(e) for e in trace))
        lines = ["agent,status,error,preference,reason"] + [
            f"{n},{r['status']},{r.get('error', '')},{r.get('preference', '')},{r.get('reason', '')}"
            for n, r in rows.items()]
        (out / "results.csv").write_text("\n".join(lines) + "\n")
        return SurveyOutcome(out=out, exit_code=EXIT_SOME_FAILED if failed else 0)

    assert not audit(write(rows, trace, 0), names).problems
    bad = dict(rows)
    del bad[names[0]]                                                                   # lost
    bad[names[1]] = {**rows[names[1]], "reason": f"{names[1]} said so. END-OF"}        # truncated
    bad[names[2]] = {"status": "failed", "error": "LLMOutputError: no", "reason": "x"}  # invented
    found = audit(write(bad, trace[3:], 1), names)
    assert len(found.answers_lost) == 1 and len(found.truncated_accepted) == 1
    # names[2] carries a value although failed; names[1] is "ok" without a TALK in the trace
    assert len(found.invented_results) >= 2
