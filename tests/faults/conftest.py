"""Settings every fault-suite run shares: a test key, a short timeout, many calls in flight, no stray config."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from .survey import TIMEOUT_S


@pytest.fixture
def fault_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """The environment of a survey run: settings from variables only, run from the test's folder.

    After the test, the garbage collector runs at once. An in-process study leaves its LLM client's
    connections open (see ``test_a_study_closes_its_connections``); when the collector finalises
    them in the middle of a later run on the same event loop, some of that run's requests get no
    answer until the client's timeout. Collecting between tests keeps one run's leak out of the next
    run's figures; the leak itself has its own test.
    """
    # tests/conftest.py has already removed the developer's own variables and moved to an empty folder.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("TINYTROUPE_OPENAI__MAX_ATTEMPTS", "5")
    monkeypatch.setenv("TINYTROUPE_OPENAI__TIMEOUT", str(TIMEOUT_S))
    monkeypatch.setenv("TINYTROUPE_OPENAI__MAX_CONCURRENT_MODEL_CALLS", "64")
    monkeypatch.chdir(tmp_path)  # where the survey's files go
    yield monkeypatch
    gc.collect()
