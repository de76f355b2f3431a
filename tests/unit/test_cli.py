"""The command line: run (scripted demo model), chat, and the errors a user sees."""

from __future__ import annotations

import json
import os
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
    assert (tmp_path / "results.csv").read_text().startswith("agent,status,error,rating,reason")
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


# ------------------------------------------------------------------------ output folder, Ctrl-C, trace


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_call(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted",
                                 "--out", "/proc/tinytroupe-nope"])
    assert result.exit_code == 1, result.output
    assert "cannot create the output folder" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_an_output_file_that_is_a_folder_is_refused_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "results.json").mkdir()
    result = runner.invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "is not a file" in " ".join(result.output.split())
    assert not (tmp_path / "trace.jsonl").exists()  # refused before the run started: nothing paid for


def test_trace_on_the_jsonl_event_log_says_what_it_reads(tmp_path: Path) -> None:
    log = tmp_path / "trace.jsonl"
    log.write_text('{"kind": "step"}\n')
    result = runner.invoke(app, ["trace", str(log)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "event log" in text and "control.begin()" in text and "damaged" not in text


def test_ctrl_c_stops_a_run_cleanly(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tinytroupe.devtools.mock_openai_server import spawn_mock_server

    server, base_url = spawn_mock_server(latency_ms=3000)
    try:
        env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test"}
        cli = "import sys; from tinytroupe.cli import app; sys.argv[0] = 'tinytroupe'; app()"
        proc = subprocess.Popen([sys.executable, "-c", cli, "run", str(EXAMPLES / "focus_group.yaml"), "-b", "openai",
                                 "--out", str(tmp_path / "out")], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # Interrupt once the run has begun (its output folder exists: it is made just before the run
        # starts, inside the part that handles Ctrl-C), not after a fixed delay that a loaded machine's
        # slow start can outlast; then the first turns are waiting on the slow server.
        deadline = time.monotonic() + 60
        while not (tmp_path / "out").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = " ".join((out + err).split())
    assert proc.returncode == 130, text[-2000:]
    assert "Interrupted" in text
    assert "Task was destroyed" not in text and "Traceback" not in text
    assert "attempt 1/" not in text  # the cancelled calls are not reported as server failures


def test_an_interrupted_run_tells_this_run_s_files_from_an_earlier_run_s(tmp_path: Path) -> None:
    import time

    from tinytroupe.cli import _interrupted_note

    (tmp_path / "results.json").write_text("{}")  # left by an earlier run
    old = time.time() - 3600
    os.utime(tmp_path / "results.json", (old, old))
    started = time.time() - 1
    (tmp_path / "trace.jsonl").write_text("{}\n")  # this run's
    note = _interrupted_note(tmp_path, started)
    assert "is from an earlier run" in note and "events so far are in" in note
    os.utime(tmp_path / "trace.jsonl", (old, old))
    assert "events so far" not in _interrupted_note(tmp_path, started)  # a stale trace is not offered
