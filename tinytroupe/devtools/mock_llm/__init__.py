"""A mock LLM for tests of code built on tinytroupe: response templates, cassettes, assertions.

Public names: MockLLM (rules keyed by purpose, agent, prompt pattern or schema, seeded variation,
cassettes, ``assert_asked``), MockBackend, Rule, AskedRequest, Cassette, CassetteMiss, RECORD_MODES.
The pytest plugin (:mod:`tinytroupe.devtools.pytest_plugin`) gives each test one as the ``mock_llm``
fixture; ``docs/testing.md`` shows how.

Example:
    >>> from tinytroupe.llm import LLMClient
    >>> mock = MockLLM()
    >>> _ = mock.respond("too expensive", prompt="price")
    >>> mock.client.complete([{"role": "user", "content": "the price?"}]).value
    'too expensive'
"""

from tinytroupe.devtools.mock_llm.asked import AskedRequest
from tinytroupe.devtools.mock_llm.cassette import RECORD_MODES, Cassette, CassetteMiss
from tinytroupe.devtools.mock_llm.mock import MockBackend, MockLLM
from tinytroupe.devtools.mock_llm.templates import Rule

__all__ = ["RECORD_MODES", "AskedRequest", "Cassette", "CassetteMiss", "MockBackend", "MockLLM", "Rule"]
