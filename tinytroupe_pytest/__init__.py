"""tinytroupe's pytest plugin: a ``mock_llm`` fixture that gives a test a scripted LLM (``docs/testing.md``).

Installed with tinytroupe (entry point ``pytest11``), so any project's tests can ask for it. It adds
fixtures, a marker and two options, and imports tinytroupe only when a test asks for ``mock_llm``
(it is a package of its own for that: importing anything under ``tinytroupe`` imports the library,
about a second): a suite that does not use it runs as without it. ``-p no:tinytroupe_pytest``
turns it off.

Fixtures:
    ``mock_llm``: a :class:`~tinytroupe.devtools.mock_llm.MockLLM` installed for the test (every
    world and agent the test makes uses it); at teardown its cassette is written and the test fails
    if a request went unanswered (a cassette miss, or no rule in strict mode).
    ``mock_llm_seed``: the seed of its variation (0); override it to change every test's.
    ``mock_llm_real_backend``: what cassettes record from and ``--mock-llm-live`` talks to: a
    function building the backend your settings configure (the embedded model by default); override
    it to return another backend or function.

Marker: ``@pytest.mark.mock_llm(seed=3, strict=True, cassette="name.json", record="none",
latency_s=0.0)``; ``cassette=True`` names it ``cassettes/<test file>/<test>.json`` next to the test
file (the folder is the ``mock_llm_cassettes`` ini option), a relative name is taken from the test
file's folder.

Options: ``--mock-llm-record=none|once|new_episodes|all`` (overrides each marker's ``record``;
default ``once``: record a cassette that does not exist yet), ``--mock-llm-live`` (every request
goes to the real backend; what was asked is still recorded for the assertions).

Example (a test in your project)::

    def test_ana_rates_the_product(mock_llm):
        mock_llm.respond({"rating": 8}, purpose="extraction", agent="Ana")
        ...
        mock_llm.assert_asked(purpose="extraction", agent="Ana", contains="rating")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # annotations only: collection imports nothing of tinytroupe
    from tinytroupe.devtools.mock_llm import MockLLM
    from tinytroupe.llm.backend import Backend

#: the cassette record modes (``tinytroupe.devtools.mock_llm.RECORD_MODES``, spelled out so that
#: adding the option imports nothing)
RECORD_CHOICES = ("none", "once", "new_episodes", "all")
MARKER_OPTIONS = frozenset({"seed", "strict", "cassette", "record", "latency_s"})
DEFAULT_CASSETTES = "cassettes"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinytroupe", "tinytroupe mock LLM (the mock_llm fixture)")
    group.addoption("--mock-llm-record", choices=RECORD_CHOICES, default=None,
                    help="how mock_llm cassettes record: none (replay only), once (record missing cassettes; "
                         "the default), new_episodes (record what a cassette lacks), all (record again)")
    group.addoption("--mock-llm-live", action="store_true", default=False,
                    help="send every mock_llm request to the real backend (mock_llm_real_backend)")
    parser.addini("mock_llm_cassettes", "folder of mock_llm cassettes named by cassette=True, relative to each "
                  "test file's folder", default=DEFAULT_CASSETTES)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mock_llm(seed=0, strict=False, cassette=None, record=None, latency_s=0.0): configure the "
        "mock_llm fixture for this test (see docs/testing.md)")


@pytest.fixture
def mock_llm_seed() -> int:
    """The seed of the mock's variation; a marker's ``seed`` wins."""
    return 0


@pytest.fixture
def mock_llm_real_backend() -> Backend | Callable[[], Backend]:
    """What cassettes record from and live runs talk to (built only when needed)."""

    def configured() -> Backend:
        from tinytroupe.config import current_settings
        from tinytroupe.llm.factory import build_backend

        return build_backend(current_settings())

    return configured


def cassette_path(node: pytest.Item, name: str | bool, folder: str) -> Path:
    """Where a test's cassette lives: ``name`` from the test file's folder, or for ``True``
    ``<folder>/<test file stem>/<test name>.json`` there."""
    base = Path(str(node.path)).parent
    if name is True:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name).strip("_")
        return base / folder / Path(str(node.path)).stem / f"{safe}.json"
    path = Path(str(name))
    return path if path.is_absolute() else base / path


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("mock_llm")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(options) - MARKER_OPTIONS)
    if marker is not None and marker.args:
        unknown.append(f"positional {marker.args!r}")
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.mock_llm takes {', '.join(sorted(MARKER_OPTIONS))} as keywords; "
                                f"{request.node.nodeid} gives {', '.join(unknown)}")
    return options


@pytest.fixture
def mock_llm(request: pytest.FixtureRequest, mock_llm_seed: int,
             mock_llm_real_backend: Backend | Callable[[], Backend]) -> Iterator[MockLLM]:
    """A mock LLM installed for the test (see the module docstring)."""
    from tinytroupe.devtools.mock_llm import MockLLM

    options = _marker_options(request)
    mock = MockLLM(seed=int(options.get("seed", mock_llm_seed)), strict=bool(options.get("strict", False)),
                   real_backend=mock_llm_real_backend, live=bool(request.config.getoption("mock_llm_live")),
                   latency_s=float(options.get("latency_s", 0.0)))
    cassette = options.get("cassette")
    if cassette:
        mode = request.config.getoption("mock_llm_record") or options.get("record") or "once"
        mock.use_cassette(cassette_path(request.node, cassette, str(request.config.getini("mock_llm_cassettes"))),
                          record=mode)
    try:
        with mock.install():
            yield mock
    finally:
        mock.finish()
    problems = mock.problems()
    if problems:
        pytest.fail("mock_llm could not answer every request:\n" + "\n".join(f"- {p}" for p in problems),
                    pytrace=False)
