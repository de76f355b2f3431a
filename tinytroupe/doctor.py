"""``tinytroupe doctor``: check that the configured model backend works, and say how to fix it if not.

:func:`run_doctor` collects a :class:`DoctorReport`: versions, the configuration file used, the
resolved backend, model and endpoint (whether a key is set, never the key), whether the embedded
model is installed, and the latency of one tiny structured call through the configured client.
Every problem comes with a fix. :func:`render_report` prints the report with rich.

Example:
    >>> from tinytroupe.config import Settings
    >>> from tinytroupe.llm import ScriptedBackend
    >>> report = run_doctor(Settings(), backend=ScriptedBackend([{"word": "pong"}]))
    >>> report.ok, report.backend
    (True, 'scripted')
"""

from __future__ import annotations

import asyncio
import importlib
import platform
import warnings
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, computed_field
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tinytroupe import __version__
from tinytroupe.aio import run_sync
from tinytroupe.config import Settings, TinyTroupeCompatibilityWarning, load_settings, resolved_api_type
from tinytroupe.errors import ConfigError, LLMOutputError, LLMTransportError, TinyTroupeError
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.factory import build_client

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
OLLAMA_DEFAULT_URL = "http://localhost:11434/v1"
LOCAL_INSTALL_COMMAND = "pip install 'tinytroupe[local]'"
#: seconds the reachability probe waits for a server to answer at all
PROBE_TIMEOUT_S = 5.0


class DoctorPing(BaseModel):
    """The tiny structured answer the test call asks for."""

    word: str = Field(description='the word "pong"')


class CallCheck(BaseModel):
    """Outcome of the one test call."""

    ok: bool
    latency_s: float | None = None
    model: str | None = None
    answer: str | None = None
    error: str | None = None


class DoctorReport(BaseModel):
    """What ``tinytroupe doctor`` found. ``problems`` each say what is wrong and how to fix it."""

    python_version: str = Field(default_factory=lambda: platform.python_version())
    platform: str = Field(default_factory=lambda: platform.platform(terse=True))
    tinytroupe_version: str = __version__
    config_file: str | None = None
    backend: str | None = None
    model: str | None = None
    model_origin: str | None = None
    endpoint: str | None = None
    api_key: Literal["set", "not set", "not needed"] | None = None
    local_model_installed: bool | None = None
    local_model_detail: str | None = None
    call: CallCheck | None = None  # None: the test call was skipped
    notes: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when no problem was found (and the test call, if made, worked)."""
        return not self.problems


def probe_endpoint(base_url: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None when anything answered HTTP at ``base_url`` (any status), else why nothing did.

    A quick check before the test call: it tells "nothing listens there" apart from "the server
    refused the request", which need different fixes.

    Example:
        >>> probe_endpoint("http://127.0.0.1:9/v1", timeout_s=1)  # doctest: +ELLIPSIS
        'connection failed...'
    """
    url = base_url.rstrip("/") + "/models"
    try:
        httpx.get(url, timeout=timeout_s)
    except httpx.ConnectError as exc:
        return f"connection failed: {exc}"
    except httpx.TimeoutException:
        return f"no answer within {timeout_s:g} s"
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return f"not a usable URL: {exc}"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_local_model(settings: Settings, report: DoctorReport) -> None:
    if settings.local.model_path:
        path = Path(settings.local.model_path).expanduser()
        if not path.is_file():
            report.local_model_installed = False
            report.local_model_detail = f"[Local] MODEL_PATH {path} does not exist"
            return
    try:
        # Imported here: the local backend module is optional machinery, and importing it is
        # not free; doctor must work (and say so) when it is missing.
        local_backend = importlib.import_module("tinytroupe.llm.local_backend")
    except ImportError as exc:
        report.local_model_installed = None
        report.local_model_detail = f"cannot check: {exc}"
        return
    report.local_model_installed = bool(local_backend.local_model_available())
    hint = getattr(local_backend, "INSTALL_HINT", LOCAL_INSTALL_COMMAND)
    report.local_model_detail = (
        "llama-cpp-python and the bundled model are installed" if report.local_model_installed
        else f"not installed; {hint}")


def _describe_backend(settings: Settings, backend: Backend | None, report: DoctorReport) -> None:
    o = settings.openai
    if backend is not None:
        identity = backend.identity()
        report.backend = backend.name
        report.model = str(identity.get("model", backend.default_model))
        report.model_origin = "the backend passed in"
        report.endpoint = identity.get("base_url") or identity.get("endpoint")
        report.api_key = "not needed"
        return
    kind = resolved_api_type(settings)
    report.backend = kind
    report.model = o.model
    report.model_origin = settings.origin("openai.model")
    if kind == "openai":
        report.endpoint = o.base_url or OPENAI_DEFAULT_URL
        report.api_key = "set" if o.api_key is not None and o.api_key.get_secret_value() else "not set"
    elif kind == "azure":
        report.endpoint = o.azure_endpoint
        has_key = o.azure_api_key is not None and o.azure_api_key.get_secret_value()
        report.api_key = "set" if has_key else "not set"
    elif kind == "ollama":
        report.endpoint = o.base_url or OLLAMA_DEFAULT_URL
        report.api_key = "not needed"
    elif kind == "local":
        report.model = settings.local.model_path or "bundled Gemma 3 270M"
        report.model_origin = settings.origin("local.model_path")
        report.endpoint = "in process (llama.cpp)"
        report.api_key = "not needed"
    else:
        report.api_key = "not needed"


def _static_problems(settings: Settings, report: DoctorReport) -> None:
    """Problems visible without any network call."""
    o = settings.openai
    if report.backend == "openai" and report.api_key == "not set" and not o.base_url:
        report.problems.append(
            "the OpenAI backend is selected but no key is set: export OPENAI_API_KEY=... (keys are read "
            "from the environment only), or set OPENAI_BASE_URL to a local OpenAI-compatible server, "
            "or set [OpenAI] API_TYPE=local to use the embedded model.")
    if report.backend == "ollama" and report.model_origin == "default":
        report.problems.append(
            f"the Ollama backend is selected but no model: the default {o.model!r} is an OpenAI model. "
            "Pull one (ollama pull llama3.1:8b) and pass --model llama3.1:8b or set [OpenAI] MODEL.")
    if report.backend == "azure":
        if not o.azure_endpoint:
            report.problems.append(
                "the Azure backend is selected but no endpoint is set: export AZURE_OPENAI_ENDPOINT="
                "https://<resource>.openai.azure.com/ (or [OpenAI] AZURE_ENDPOINT in the config file).")
        if report.api_key == "not set":
            report.problems.append("the Azure backend is selected but no key is set: export "
                                   "AZURE_OPENAI_API_KEY=... (keys are read from the environment only).")
    if report.backend == "local" and report.local_model_installed is False:
        report.problems.append(
            f"the embedded local model is selected (no OPENAI_API_KEY, OPENAI_BASE_URL or Azure settings "
            f"found) but it is not usable: {report.local_model_detail}. Install it (in short: "
            f"{LOCAL_INSTALL_COMMAND}), or point tinytroupe at a model server with OPENAI_BASE_URL or "
            "OPENAI_API_KEY.")
    if report.backend == "scripted":
        report.problems.append(
            "API_TYPE=scripted only works with replies given in code (build_client(backend="
            "ScriptedBackend([...]))); choose api_type openai, azure, ollama or local for real runs.")


def _unreachable(report: DoctorReport, settings: Settings, reason: str) -> str:
    where = report.endpoint
    origin = settings.origin("openai.azure_endpoint" if report.backend == "azure" else "openai.base_url")
    source = f" (set by {origin})" if origin != "default" else " (the default)"
    return (f"nothing answered at {where}{source}: {reason}. Check that the server is running and "
            f"listening on that host and port (try: curl {where.rstrip('/') if where else ''}/models), "
            "that the URL is right (it usually ends in /v1), and that no proxy or firewall is in the way.")


def _call_problem(exc: BaseException, report: DoctorReport, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return (f"the test call got no answer within {timeout_s:g} s from {report.endpoint}; the server may "
                "be overloaded or the model still loading. Try again, or raise --timeout.")
    if isinstance(exc, LLMTransportError):
        status = exc.status_code
        if status in (401, 403):
            return (f"the server refused the key (HTTP {status}): check that OPENAI_API_KEY (or "
                    "AZURE_OPENAI_API_KEY) is current and belongs to this endpoint. "
                    f"Server said: {exc}")
        if status == 404:
            return (f"HTTP 404 from {report.endpoint}: model {report.model!r} (for Azure: the deployment "
                    "name) or the URL path was not found; check [OpenAI] MODEL and the base URL. "
                    f"Server said: {exc}")
        return f"the test call failed: {exc}"
    if isinstance(exc, LLMOutputError):
        return (f"the model answered, but not with a valid one-field JSON object ({exc.errors[:3]}); "
                f"answer: {exc.raw_text[:200]!r}. Use a stronger model, or try another "
                "[OpenAI] STRUCTURED_OUTPUT mode (json_schema, json_object, tools, prompt).")
    if isinstance(exc, ImportError):
        return f"the backend could not be loaded: {exc}. For the embedded model: {LOCAL_INSTALL_COMMAND}."
    return f"the test call failed: {exc}"


def _build_client(settings: Settings, backend: Backend | None) -> LLMClient:
    # The doctor measures a real call, so a cached answer must not stand in for one.
    settings = settings.model_copy(deep=True)
    settings.openai.cache_api_calls = False
    return build_client(settings, backend=backend)


def _test_call(settings: Settings, backend: Backend | None, report: DoctorReport, timeout_s: float) -> None:
    messages = [
        {"role": "system", "content": "You are a health check. Answer with one JSON object, nothing else."},
        {"role": "user", "content": 'Reply with the JSON object {"word": "pong"}.'},
    ]
    try:
        client = _build_client(settings, backend)
    except (TinyTroupeError, ImportError) as exc:
        report.call = CallCheck(ok=False, error=str(exc))
        report.problems.append(_call_problem(exc, report, timeout_s))
        return
    try:
        result = run_sync(asyncio.wait_for(
            client.acomplete(messages, response_model=DoctorPing, purpose="doctor", max_tokens=64),
            timeout=timeout_s))
    except (TinyTroupeError, TimeoutError, ImportError) as exc:
        report.call = CallCheck(ok=False, error=f"{type(exc).__name__}: {exc}")
        report.problems.append(_call_problem(exc, report, timeout_s))
        return
    finally:
        client.close()
    report.call = CallCheck(ok=True, latency_s=round(result.latency_s, 4), model=result.model,
                            answer=result.text[:200])


def run_doctor(settings: Settings | None = None, *, config_path: str | Path | None = None, call: bool = True,
               backend: Backend | None = None, timeout_s: float = 60.0) -> DoctorReport:
    """Check the configuration and backend; never raises for a configuration or backend problem.

    Args:
        settings: the settings to check; when None they are loaded (from ``config_path`` if given),
            and a configuration error becomes a problem in the report.
        call: make the test call (and the reachability probe); False checks without any network or
            model load.
        backend: a backend to use instead of the configured one (a ScriptedBackend in tests); it is
            wrapped like the configured one would be.
        timeout_s: how long the test call may take, retries included.
    """
    report = DoctorReport()
    if settings is None:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                settings = load_settings(config_path)
        except ConfigError as exc:
            report.config_file = str(config_path) if config_path is not None else exc.source
            report.problems.append(f"configuration error: {exc}")
            return report
        for warning in caught:
            if issubclass(warning.category, TinyTroupeCompatibilityWarning):
                report.notes.append(str(warning.message))
            else:  # not ours to judge: pass it on
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    report.config_file = settings.source_file
    _check_local_model(settings, report)
    _describe_backend(settings, backend, report)
    if backend is None:
        _static_problems(settings, report)
    if not call or report.problems:
        return report
    needs_probe = backend is None and report.backend in ("openai", "azure", "ollama")
    if needs_probe and report.endpoint:
        reason = probe_endpoint(report.endpoint)
        if reason is not None:
            report.call = CallCheck(ok=False, error=reason)
            report.problems.append(_unreachable(report, settings, reason))
            return report
    _test_call(settings, backend, report, timeout_s)
    return report


def _row(value: Any, missing: str = "-") -> str:
    return escape(str(value)) if value is not None else f"[dim]{missing}[/dim]"


def render_report(report: DoctorReport, console: Console | None = None) -> None:
    """Print ``report`` as a table followed by notes and problems (with their fixes)."""
    console = console or Console()
    table = Table(title="tinytroupe doctor", show_header=False, title_justify="left")
    table.add_column("check", style="bold")
    table.add_column("result", overflow="fold")
    table.add_row("Python", _row(f"{report.python_version} ({report.platform})"))
    table.add_row("tinytroupe", _row(report.tinytroupe_version))
    table.add_row("config file", _row(report.config_file, "none (defaults and environment)"))
    table.add_row("backend", _row(report.backend, "unknown"))
    model = _row(report.model)
    if report.model_origin and report.model_origin != "default":
        model += f" [dim](from {escape(report.model_origin)})[/dim]"
    table.add_row("model", model)
    table.add_row("endpoint", _row(report.endpoint))
    table.add_row("API key", _row(report.api_key))
    installed = {True: "[green]yes[/green]", False: "[yellow]no[/yellow]", None: "[dim]unknown[/dim]"}
    detail = f" [dim]({escape(report.local_model_detail)})[/dim]" if report.local_model_detail else ""
    table.add_row("embedded model", installed[report.local_model_installed] + detail)
    if report.call is None:
        call = "[dim]skipped[/dim]"
    elif report.call.ok:
        call = f"[green]ok[/green] in {report.call.latency_s:.3f} s ({_row(report.call.model)})"
    else:
        error = report.call.error
        call = "[red]failed[/red]" + (f" [dim]({escape(error[:120])})[/dim]" if error else "")
    table.add_row("test call", call)
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    for problem in report.problems:
        console.print(f"[red]✗[/red] {escape(problem)}")
    if report.ok:
        console.print("[green]✓ ready[/green]" + ("" if report.call else " (test call skipped)"))
    else:
        console.print(f"[red]{len(report.problems)} problem(s) found[/red]")


__all__ = ["CallCheck", "DoctorPing", "DoctorReport", "probe_endpoint", "render_report", "run_doctor"]
