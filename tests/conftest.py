"""Every test runs as on a clean machine and leaves the process as it found it.

Isolation: the developer's ``TINYTROUPE_*``, ``OPENAI_*`` and ``AZURE_*`` variables and the terminal's
(``FORCE_COLOR``, ``COLUMNS`` ...: output is laid out 80 columns wide, uncoloured) are removed, and
each test runs in an empty working folder, so no ``tinytroupe.toml`` or ``config.ini`` lying in the
repository (or wherever pytest was started) is read. A test that needs a variable sets it with
``monkeypatch.setenv``; one that needs a config file writes it and passes its path or chdirs itself.

Lookups by name outside any scope start empty in every test (a fresh ambient registry).

Process state: after each test, no simulation may still be current, no scope may be left on the
scope stack, no hold on the garbage collector's freeze (``tinytroupe.gc_freeze``) may be left, and
the default LLM client and the process settings must be what they were before,
unless the library itself built them lazily on first use (``get_default_client`` and
``current_settings`` do, and dropping those is harmless). Whatever a test left behind is undone so the
next test starts clean, and the test that left it fails at teardown, so a leak is found where it
happens instead of surfacing as an odd failure in whichever test runs next.

Shared helpers: pytest puts this folder on ``sys.path`` when it loads this file (``tests`` is not a
package), so the support modules beside it (``helpers``, ``sharding_support``, ``dashboard_support`` ...)
import by name from the unit and the integration tests alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tinytroupe import config, control, gc_freeze, scope
from tinytroupe.config import current as current_config
from tinytroupe.lazy import Lazy
from tinytroupe.llm import default

# A user's project with its own tests, run by tests/unit/test_pytest_plugin.py through pytester.
collect_ignore = ["sample_project"]

_DEVELOPER_VARIABLES = ("TINYTROUPE_", "OPENAI_", "AZURE_")
# How rich lays out what the CLI prints; a CI runner may set any of them (FORCE_COLOR is common).
_TERMINAL_VARIABLES = ("FORCE_COLOR", "NO_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "LINES",
                       "JUPYTER_COLUMNS", "JUPYTER_LINES")


@dataclass
class _ProcessState:
    simulation: control.Simulation | None
    scopes: list[tuple[int, scope.Scope]]
    client: Any
    settings: config.Settings | None
    scoped_settings: config.Settings | None

    @classmethod
    def now(cls) -> _ProcessState:
        # Private attributes on purpose: the public getters would build the client and settings.
        return cls(simulation=control.current_simulation(), scopes=list(scope._stack),
                   client=_peek(default._client), settings=_peek(current_config._process_settings),
                   scoped_settings=current_config._scoped.get())


def _peek(holder: Any) -> Any:
    return holder.peek() if isinstance(holder, Lazy) else holder


@dataclass
class _LazilyBuilt:
    """What the library built on first use during the test (not set by the test)."""

    objects: list[Any] = field(default_factory=list)

    def record(self, build: Callable[..., Any]) -> Callable[..., Any]:
        def recording(*args: Any, **kwargs: Any) -> Any:
            built = build(*args, **kwargs)
            self.objects.append(built)
            return built

        return recording

    def __contains__(self, obj: object) -> bool:
        return any(obj is built for built in self.objects)


def _undo(before: _ProcessState, lazily: _LazilyBuilt) -> list[str]:
    """Put the process back as it was before the test; returns what the test had left behind."""
    leaks: list[str] = []
    after = _ProcessState.now()
    if after.simulation is not None and after.simulation is not before.simulation:
        leaks.append(f"simulation {after.simulation.id!r} is still running (call control.end() or control.reset())")
        control.reset()
    for token, entered in reversed(scope._stack):
        if (token, entered) in before.scopes:
            continue
        leaks.append(f"scope {entered!r} is still entered (leave it, or use scope.session() as a context manager)")
        if isinstance(entered, control.Simulation):
            entered.reset()  # leaves its scope (its run context goes with it)
        if any(t == token for t, _ in scope._stack):
            scope.leave(token)
    now = _ProcessState.now()
    if now.client is not before.client:
        if now.client not in lazily:
            leaks.append("the default LLM client was replaced (restore it with set_default_client(previous))")
        default.set_default_client(before.client)
    if now.settings is not before.settings:
        if now.settings not in lazily:
            leaks.append("the process settings were replaced (restore them with set_settings(previous))")
        config.set_settings(before.settings)
    if now.scoped_settings is not before.scoped_settings:
        leaks.append("settings made current without being reset (use `with using_settings(...)`)")
        current_config._scoped.set(before.scoped_settings)
    return leaks


@pytest.fixture(autouse=True)
def clean_machine(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    for var in list(os.environ):
        if var.startswith(_DEVELOPER_VARIABLES) or var in _TERMINAL_VARIABLES:
            monkeypatch.delenv(var)
    # Output is laid out 80 columns wide, as on a machine whose terminal says nothing.
    monkeypatch.setenv("COLUMNS", "80")
    # A folder of its own, not the test's tmp_path: tests that list their tmp_path see only their files.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    # Lookups by name outside any scope see the objects made outside any scope; earlier tests' agents
    # that only the garbage collector has not freed yet must not be among them.
    monkeypatch.setattr(scope, "_ambient", scope.Registry())
    lazily = _LazilyBuilt()
    monkeypatch.setattr(default, "build_client", lazily.record(default.build_client))
    # current_settings() loads through the name in its own module, so that is the one to watch.
    monkeypatch.setattr(current_config, "load_settings", lazily.record(current_config.load_settings))
    before = _ProcessState.now()
    holds = gc_freeze._holders
    yield
    leaks = _undo(before, lazily)
    if gc_freeze._holders != holds:
        # A hold left behind keeps the collector off every object for the rest of the process.
        leaks.append(f"the garbage collector's freeze is held {gc_freeze._holders - holds} more time(s) "
                     "(a simulation not ended, or gc_freeze.hold() without release())")
        while gc_freeze._holders > holds:
            gc_freeze.release()
    if leaks:
        pytest.fail("the test left process state behind: " + "; ".join(leaks), pytrace=False)
