"""Cache keys pinned to their values: a key that changes makes every stored cache and run file miss.

The hashes were computed by the build before this session's key-path changes (and by the new one:
the same); a change here needs a deliberate migration, not a new expected value.
"""

from __future__ import annotations

from typing import Any

import pytest

from tinytroupe.llm.canonical import SpliceMemo
from tinytroupe.llm.types import LLMRequest, Message

SCHEMA = {"title": "Answer", "type": "object", "properties": {"score": {"type": "integer", "default": 1.0}},
          "required": ["score"]}
OPENAI = {"backend": "openai", "api_type": "openai", "model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1"}

CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "plain": (dict(messages=[Message(role="user", content="Hello")]), {},
              "8e24243dc140778df81c3c1b9b23637044a91853ec169720ffd5016a39fa26cb"),
    "non_ascii": (dict(messages=[Message(role="system", content="Tu es Zoé 😀\u2028\t\"q\" \\ \x1f"),
                                 Message(role="user", content="中文?")]), OPENAI,
                  "a773e06ba6147b2eb14900b4389a7b00c4eef639c44b4741bc6a76df2cb28919"),
    "params": (dict(messages=[Message(role="user", content="x")], temperature=0.7, max_tokens=100, seed=2**40,
                    stop=("END", "\n\n"), model="m"), OPENAI,
               "6dd87425a69bac95fbd77497403054f7fc902d0cba9a37a8c00b4cb4d05befc2"),
    "int_vs_float": (dict(messages=[Message(role="user", content="x")], temperature=1), {"n": 1.0},
                     "6880213e480562edb3962dedc1a9fa42bd88ca8e303ae364752540ce44f9cd2f"),
    "schema": (dict(messages=[Message(role="user", content="rate")], response_schema=SCHEMA, schema_name="Answer"),
               OPENAI, "e25924bd4efedc9541569672130e89a63b122a89210c002d9732f253ad57a8ae"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cache_keys_keep_their_pinned_values_with_and_without_a_memo(name: str) -> None:
    fields, backend, expected = CASES[name]
    memo = SpliceMemo()
    assert LLMRequest(**fields).cache_key(backend) == expected
    assert LLMRequest(**fields).cache_key(backend, memo) == expected  # builds the memo's entries
    assert LLMRequest(**fields).cache_key(backend, memo) == expected  # served from them
