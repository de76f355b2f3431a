"""What the command line prints besides the run itself: TinyTroupe-compatibility notes as one clean line,
and each failed turn said live and in the closing summary, not a third time as a log line."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinytroupe.cli import app
from tinytroupe.config import TinyTroupeCompatibilityWarning, load_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_tinytroupe_keys_are_one_note_line_in_the_cli_and_a_warning_in_the_library(tmp_path: Path) -> None:
    config = tmp_path / "config.ini"
    config.write_text("[OpenAI]\nNUM_CTX = 2048\n")
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-q",
                                      "-c", str(config), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.count("Note: these TinyTroupe settings have no effect") == 1
    assert "NUM_CTX" in text
    assert "TinyTroupeCompatibilityWarning" not in text and "load_settings(" not in text
    # The hook was the command's only: a library user still gets the warning itself.
    with pytest.warns(TinyTroupeCompatibilityWarning, match="NUM_CTX"):
        load_settings(config, env={})
    assert warnings.showwarning is warnings._showwarning_orig  # type: ignore[attr-defined]


def test_chat_shows_the_note_too(tmp_path: Path) -> None:
    config = tmp_path / "config.ini"
    config.write_text("[OpenAI]\nNUM_CTX = 2048\n")
    result = CliRunner().invoke(app, ["chat", "lisa", "-b", "scripted", "-c", str(config)], input="/quit\n")
    assert result.exit_code == 0, result.output
    assert "Note: these TinyTroupe settings" in result.output and "Warning" not in result.output


def test_a_failed_turn_is_not_repeated_as_a_log_line(tmp_path: Path) -> None:
    from tinytroupe.devtools.mock_openai_server import spawn_mock_server

    server, base_url = spawn_mock_server(fault_rate=1.0, fault_kinds=["malformed_json"])
    try:
        env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test", "COLUMNS": "200"}
        cli = "import sys; from tinytroupe.cli import app; sys.argv[0] = 'tinytroupe'; app()"
        runs = {}
        for mode in ("live", "quiet"):
            args = ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "openai", "-m", "mock-model",
                    "-o", str(tmp_path / mode), *(["-q"] if mode == "quiet" else [])]
            runs[mode] = subprocess.run([sys.executable, "-c", cli, *args], env=env, cwd=tmp_path,
                                        capture_output=True, text=True, timeout=300)
    finally:
        server.terminate()
        server.wait(timeout=10)
    live = runs["live"]
    assert live.returncode == 3, live.stdout[-2000:] + live.stderr[-2000:]
    assert live.stdout.count("! Lisa Brennan step 1: LLMOutputError") == 1  # live
    assert live.stdout.count("! turn failed: agent Lisa Brennan step 1") == 1  # closing summary
    assert "failed with LLMOutputError" not in live.stdout + live.stderr  # the log line
    # Without the live display, the log line is the only sign while the run goes on: it stays.
    quiet = runs["quiet"]
    assert "agent 'Lisa Brennan' at step 1 failed with LLMOutputError" in quiet.stderr
    assert "! Lisa Brennan step 1" not in quiet.stdout
