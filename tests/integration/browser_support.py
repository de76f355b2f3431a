"""What the browser tests share: Debian's chromium driven by Playwright, a scripted world, waiting on the page.

Chromium is ``$CHROMIUM_PATH`` or ``/usr/bin/chromium`` (Debian's package; Playwright's own browser
download is never used). Where it or Playwright is missing the tests skip, saying why, unless
``REQUIRE_BROWSER_TESTS=1`` (CI sets it after installing chromium), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.knowledge import add_knowledge_graph
from tinytroupe.environment import TinyWorld
from tinytroupe.grounding.graph import InMemoryGraphStore, SharedGraph
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

HELLO = {"actions": [{"type": "TALK", "content": "Hello there!"}, {"type": "DONE"}]}
#: screenshots of the browser tests (ignored by git)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def chromium_path() -> str:
    """The chromium to drive, or skip (fail under ``REQUIRE_BROWSER_TESTS=1``) saying why there is none."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    problem = None
    if not Path(path).is_file():
        problem = (f"no chromium at {path}: install Debian's package (apt-get install chromium) or set "
                   "CHROMIUM_PATH")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed: pip install -e '.[dev]'"
    if problem is not None:
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    return path


def cafe(latency_s: float = 0.0) -> TinyWorld:
    """Ana and Ben, stepping sequentially, each turn one scripted TALK (``latency_s`` per call)."""
    world = TinyWorld("Cafe", [TinyPerson("Ana"), TinyPerson("Ben")], communication_display=False,
                      client=LLMClient(ScriptedBackend([HELLO], cycle=True, latency_s=latency_s)), parallelize=False)
    world.make_everyone_accessible()
    return world


def works_at(request: LLMRequest) -> dict[str, Any]:
    """A scripted model: turns end at once; a graph extraction reads the texts' 'X works at Y' sentences."""
    if request.schema_name != "GraphExtraction":
        return {"actions": [{"type": "DONE"}]}
    text = "\n".join(str(m.content) for m in request.messages)
    entities: dict[str, dict[str, str]] = {}
    relations = []
    for source, line in re.findall(r"^(\w+#m\d+): (.*)$", text, re.MULTILINE):
        for who, where in re.findall(r"([A-Z]\w+(?: [A-Z]\w+)?) works at ([A-Z]\w+)", line):
            entities[who] = {"name": who, "type": "person"}
            entities[where] = {"name": where, "type": "organisation"}
            relations.append({"subject": who, "predicate": "works_at", "object": where, "source": source})
    return {"entities": list(entities.values()), "relations": relations}


def office() -> TinyWorld:
    """Ana and Ben, each extracting beliefs after every new memory and sharing the world graph of "Office"."""
    people = [TinyPerson("Ana"), TinyPerson("Ben")]
    world = TinyWorld("Office", people, communication_display=False, client=LLMClient(ScriptedBackend(works_at)),
                      parallelize=False)
    shared = SharedGraph(InMemoryGraphStore("world:Office"))
    for person in people:
        add_knowledge_graph(person, world_graph=shared, batch_size=1)
    return world


def wait_for(page: Any, expression: str, timeout: float = 20.0) -> Any:
    """Poll ``expression`` in the page until it is truthy (the page's CSP forbids Playwright's
    ``wait_for_function``, which evaluates strings); its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never had {expression} within {timeout} s")
        time.sleep(0.05)


def shot(page: Any, name: str) -> Path:
    """Keep a screenshot as a test artifact; its path is printed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


STEP_ENDS = "TT.events.filter(e => e.kind === 'step' && e.phase === 'end').map(e => e.step)"
