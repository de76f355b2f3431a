"""What the browser tests share: Debian's chromium driven by Playwright, waiting on the page (the scripted
worlds they show are ``tests/dashboard_support.py``'s).

Chromium is ``$CHROMIUM_PATH`` or ``/usr/bin/chromium`` (Debian's package; Playwright's own browser
download is never used). Where it or Playwright is missing the tests skip, saying why, unless
``REQUIRE_BROWSER_TESTS=1`` (CI sets it after installing chromium), where they fail.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

#: screenshots of the browser tests (ignored by git)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def find_chromium() -> tuple[str, str | None]:
    """The chromium to drive and why it cannot be driven (None when it can); ``benchmarks/dashboard.py``
    uses it too."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    problem = None
    if not Path(path).is_file():
        problem = (f"no chromium at {path}: install Debian's package (apt-get install chromium) or set "
                   "CHROMIUM_PATH")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed: pip install -e '.[dev]'"
    return path, problem


def chromium_path() -> str:
    """The chromium to drive, or skip (fail under ``REQUIRE_BROWSER_TESTS=1``) saying why there is none."""
    path, problem = find_chromium()
    if problem is not None:
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return path


def wait_for(page: Any, expression: str, timeout: float = 20.0, *, every_s: float = 0.05) -> Any:
    """Poll ``expression`` in the page every ``every_s`` until it is truthy (the page's CSP forbids
    Playwright's ``wait_for_function``, which evaluates strings); its value.

    Raises:
        TimeoutError: it was not truthy within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page never had {expression} within {timeout} s")
        time.sleep(every_s)


def shot(page: Any, name: str) -> Path:
    """Keep a screenshot as a test artifact; its path is printed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


STEP_ENDS = "TT.events.filter(e => e.kind === 'step' && e.phase === 'end').map(e => e.step)"
