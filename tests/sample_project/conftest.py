"""The sample project's fixtures: an answer for every agent turn, shared by its tests.

``mock_llm`` comes from tinytroupe's pytest plugin; rules added here are tried after the tests' own
(the rule added last is tried first).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tinytroupe.devtools.mock_llm import MockLLM


@pytest.fixture
def focus_llm(mock_llm: MockLLM) -> Iterator[MockLLM]:
    """Agents talk about the product; extraction answers vary with the seed."""
    mock_llm.respond({"actions": [{"type": "TALK", "content": "{one_of:I like it|Too pricey for me|Not sure}."}]},
                     purpose="action")
    mock_llm.respond({"rating": "{int:1..10}", "reason": "{agent} thinks it is {one_of:useful|a gadget}."},
                     purpose="extraction")
    yield mock_llm
