"""Batch mode against Azure OpenAI's dialect of the Batch API, end to end on the mock server's
``/openai/files`` and ``/openai/batches`` (``api-version``, ``api-key``, a deployment per file, files
``pending`` until processed, capitalised statuses, empty error files), and Ollama's refusal."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from batch_support import (
    KEY,
    azure_settings,
    batch_clients,
    check_expired_rest_sent_again,
    input_lines,
    talk,
    world_of,
)

from tinytroupe.config import Settings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.errors import ConfigError, LLMTransportError
from tinytroupe.events import BatchEvent
from tinytroupe.llm import LLMClient
from tinytroupe.llm.batch import BatchWrapper, batch_mode, find_batch_wrapper
from tinytroupe.llm.batch_api import BatchAPI, jsonl_line
from tinytroupe.llm.batch_lines import batch_line
from tinytroupe.llm.factory import build_client
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.storage.batches import BatchStore


@pytest.fixture
def azure_client() -> Iterator[Any]:
    with batch_clients(azure_settings) as make:
        yield make


def test_a_step_goes_out_as_one_azure_batch_to_the_deployment(azure_client: Any) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_latency_s=0.1) as server:
        client, wrapper, seen = azure_client(server)
        world = world_of(client, 4)
        actions = world.run(1, batch=True, return_actions=True)
        assert world.errors == [] and actions is not None
        assert all(acts[0].content == f"{name} answers" for name, acts in actions[0].items())
        assert server.chat_requests() == [] and len(wrapper.submitted) == 1
        lines = input_lines(server, wrapper.submitted[0])
        batch = server.state.batch.batch(wrapper.submitted[0])
        paths = [r.path for r in server.requests]
        sent = [r for r in server.requests if r.path.startswith("/openai/")]
    # Azure's spelling: the deployment on every line, /chat/completions as url and endpoint
    assert {line["url"] for line in lines} == {"/chat/completions"}
    assert {line["body"]["model"] for line in lines} == {"batch-deployment"}
    assert batch is not None and batch["endpoint"] == "/chat/completions" and batch["status"] == "completed"
    assert batch["error_file_id"] is not None  # an empty error file, as Azure names one: read as no lines
    # the upload was pending until looked at again; only then was the batch created
    assert paths.index("/openai/files/{id}") < paths.index("/openai/batches")
    assert all(r.headers.get("api-key") == KEY and "authorization" not in r.headers for r in sent)
    phases = [(e.phase, e.status) for e in seen if isinstance(e, BatchEvent)]
    assert phases[0] == ("submitted", "validating")  # Azure's "Validating", in the usual case
    assert phases[-1] == ("done", "completed")


def test_an_expired_azure_batch_keeps_its_answers_and_sends_only_the_rest_again(azure_client: Any,
                                                                               tmp_path: Path) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_expire_after=2) as server:
        client, wrapper, _ = azure_client(server)
        wrapper.store = store = BatchStore(tmp_path / "run.sqlite")
        world = world_of(client, 4)
        actions = world.run(1, batch=True, return_actions=True)
        check_expired_rest_sent_again(server, wrapper, world, actions, store, agents=4, kept=2)
        store.close()


def test_requests_for_two_deployments_go_into_two_batches(azure_client: Any) -> None:
    with MockOpenAIServer(replies=["fine"] * 4) as server:
        client, wrapper, _ = azure_client(server)

        async def ask() -> list[str]:
            with batch_mode(client):
                results = await asyncio.gather(*(client.acomplete([{"role": "user", "content": f"q{i}"}],
                                                                  model=f"deployment-{i % 2}") for i in range(4)))
            return [str(r.value) for r in results]

        assert asyncio.run(ask()) == ["fine"] * 4
        models = [{line["body"]["model"] for line in input_lines(server, b)} for b in wrapper.submitted]
    assert sorted(map(sorted, models)) == [["deployment-0"], ["deployment-1"]]


def test_each_caller_gets_its_own_answer_and_one_deployments_refused_upload_fails_only_its_callers(
        azure_client: Any) -> None:
    def echo(body: dict[str, Any]) -> str:
        return f"{body['model']}:{body['messages'][-1]['content']}"

    with MockOpenAIServer(reply_fn=echo) as server:
        client, wrapper, _ = azure_client(server)
        real_upload = wrapper.api.upload

        async def upload(lines: list[bytes], *args: Any, **kwargs: Any) -> str:
            if json.loads(lines[0])["body"]["model"] == "deployment-1":
                raise LLMTransportError("the azure server answered HTTP 400", status_code=400)
            return await real_upload(lines, *args, **kwargs)

        wrapper.api.upload = upload  # type: ignore[method-assign]

        async def ask() -> list[Any]:
            with batch_mode(client):
                return await asyncio.gather(*(client.acomplete([{"role": "user", "content": f"q{i}"}],
                                                               model=f"deployment-{i % 2}") for i in range(6)),
                                            return_exceptions=True)

        outcomes = asyncio.run(ask())
    assert [getattr(o, "value", None) for o in outcomes[0::2]] == ["deployment-0:q0", "deployment-0:q2",
                                                                   "deployment-0:q4"]
    assert all(isinstance(o, LLMTransportError) and o.status_code == 400 for o in outcomes[1::2])
    assert len(wrapper.submitted) == 1


def test_a_failed_azure_batch_says_which_deployment_type_it_needs(azure_client: Any) -> None:
    with MockOpenAIServer(replies=["fine"] * 2) as server:
        client, wrapper, _ = azure_client(server)
        def one_file(fresh: dict[str, Any]) -> list[Any]:  # both deployments in one file
            return [(fresh, [batch_line(key, items, wrapper.backend, wrapper.api.chat_endpoint)
                             for key, items in fresh.items()])]

        wrapper._chunks = one_file  # type: ignore[method-assign]

        async def ask() -> list[Any]:
            with batch_mode(client):
                return await asyncio.gather(*(client.acomplete([{"role": "user", "content": f"q{i}"}],
                                                               model=f"deployment-{i}") for i in range(2)),
                                            return_exceptions=True)

        outcomes = asyncio.run(ask())
        batch = server.state.batch.batch(wrapper.submitted[0])
    assert batch is not None and batch["status"] == "failed"
    assert batch["errors"]["data"][0]["code"] == "model_mismatch"
    for outcome in outcomes:
        assert isinstance(outcome, LLMTransportError) and not outcome.retryable
        assert "model_mismatch" in str(outcome) and "Global-Batch" in str(outcome)


def test_the_mock_refuses_azure_batch_calls_without_api_version_or_key() -> None:
    with MockOpenAIServer(api_key=KEY) as server:
        root = server.base_url.removesuffix("/v1")
        no_version = httpx.get(f"{root}/openai/batches/batch-x", headers={"api-key": KEY})
        no_key = httpx.get(f"{root}/openai/batches/batch-x", params={"api-version": "2024-10-21"})
        wrong_key = httpx.get(f"{root}/openai/batches/batch-x", params={"api-version": "2024-10-21"},
                              headers={"api-key": "wrong"})
        right = httpx.get(f"{root}/openai/batches/batch-x", params={"api-version": "2024-10-21"},
                          headers={"api-key": KEY})
    assert (no_version.status_code, no_version.json()["error"]["message"]) == (404, "Resource not found")
    assert no_key.status_code == wrong_key.status_code == 401
    assert no_key.json()["error"]["message"].startswith("Access denied")
    assert right.status_code == 404 and "No such Batch" in right.json()["error"]["message"]


def test_a_wrong_azure_key_fails_the_upload_with_an_auth_error_that_hides_the_key() -> None:
    with MockOpenAIServer(api_key=KEY) as server:
        backend = OpenAIBackend(model="batch-deployment", api_type="azure",
                                azure_endpoint=server.base_url.removesuffix("/v1"),
                                azure_api_key="wrong-key-0123456789", timeout=5)
        api = BatchAPI.for_backend(backend)

        async def upload() -> str:
            try:
                return await api.upload([jsonl_line({"custom_id": "a", "method": "POST", "url": "/chat/completions",
                                                     "body": {"model": "batch-deployment", "messages": []}})])
            finally:
                await api.aclose()

        with pytest.raises(LLMTransportError) as info:
            asyncio.run(upload())
    assert info.value.status_code == 401 and "AZURE_OPENAI_API_KEY" in str(info.value)
    assert "wrong-key-0123456789" not in str(info.value)


def test_an_unknown_azure_batch_path_advises_on_the_deployment_type_and_api_version() -> None:
    backend = OpenAIBackend(model="my-deployment", api_type="azure", azure_endpoint="https://x.openai.azure.com",
                            azure_api_key="k", azure_api_version="2024-02-01")
    hint = BatchAPI.for_backend(backend).endpoint.hint("not_found")
    assert "Global-Batch" in hint and "'my-deployment'" in hint and "'2024-02-01'" in hint


def test_ollama_is_refused_before_any_call_because_it_has_no_batch_api() -> None:
    client = build_client(Settings.model_validate({"openai": {"api_type": "ollama", "model": "llama3.1:8b"}}))
    try:
        with pytest.raises(ConfigError, match="Ollama has none"):
            find_batch_wrapper(client)
        with pytest.raises(ConfigError, match="Ollama has none"):
            world_of(client, 2).run(1, batch=True)
    finally:
        client.close()
    with pytest.raises(ConfigError, match="Ollama has none"):
        BatchAPI.for_backend(OpenAIBackend(model="llama3.1:8b", api_type="ollama"))


def test_a_transient_failure_while_the_upload_is_pending_does_not_fail_the_batch(azure_client: Any) -> None:
    # Azure keeps a file pending for minutes: one 503 while polling it must not cost the requests, as
    # one while polling the batch does not.
    with MockOpenAIServer(replies=["fine"] * 2) as server:
        client, wrapper, _ = azure_client(server)
        real_json = wrapper.api._json
        failed: list[str] = []

        async def flaky(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            if method == "GET" and path.startswith("/files/") and not failed:
                failed.append(path)
                raise LLMTransportError("the azure server answered HTTP 503", status_code=503, retryable=True)
            return await real_json(method, path, **kwargs)

        wrapper.api._json = flaky  # type: ignore[method-assign]

        async def ask() -> list[Any]:
            with batch_mode(client):
                return await asyncio.gather(*(client.acomplete([{"role": "user", "content": f"q{i}"}])
                                              for i in range(2)), return_exceptions=True)

        outcomes = asyncio.run(ask())
    assert failed and [getattr(o, "value", o) for o in outcomes] == ["fine", "fine"]
    assert len(wrapper.submitted) == 1


def test_an_upload_that_stays_pending_fails_its_batch_after_the_wait_with_the_last_error(azure_client: Any) -> None:
    with MockOpenAIServer(replies=["fine"]) as server:
        client, wrapper, _ = azure_client(server)
        wrapper.api.file_wait_s = 0.2

        async def down(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            if method == "GET" and path.startswith("/files/"):
                raise LLMTransportError("the azure server answered HTTP 503", status_code=503, retryable=True)
            return await real_json(method, path, **kwargs)

        real_json = wrapper.api._json
        wrapper.api._json = down  # type: ignore[method-assign]

        async def ask() -> Any:
            with batch_mode(client):
                return await asyncio.gather(client.acomplete([{"role": "user", "content": "q"}]),
                                            return_exceptions=True)

        (outcome,) = asyncio.run(ask())
    assert isinstance(outcome, LLMTransportError) and outcome.retryable
    assert "pending" in str(outcome) and "503" in str(outcome) and wrapper.submitted == []


def _failing_batch(client: LLMClient, wrapper: BatchWrapper, errors: list[dict[str, Any]]) -> Any:
    """The outcome of one request whose batch the server reports ``failed`` with ``errors``."""
    real_json = wrapper.api._json

    async def failed(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        found = await real_json(method, path, **kwargs)
        if method == "GET" and path.startswith("/batches/"):
            found.update(status="failed", errors={"object": "list", "data": errors}, output_file_id=None,
                         error_file_id=None)
        return found

    wrapper.api._json = failed  # type: ignore[method-assign]

    async def ask() -> Any:
        with batch_mode(client):
            return await asyncio.gather(client.acomplete([{"role": "user", "content": "q"}]), return_exceptions=True)

    return asyncio.run(ask())[0]


def test_a_batch_refused_for_the_enqueued_token_quota_says_so_and_may_be_run_again(azure_client: Any) -> None:
    # Azure's most common failure at scale: the deployment's enqueued-token limit, not its type.
    with MockOpenAIServer(replies=["fine"]) as server:
        client, wrapper, _ = azure_client(server)
        outcome = _failing_batch(client, wrapper, [{"code": "token_limit_exceeded", "line": None, "param": None,
                                                    "message": "The number of enqueued tokens has surpassed the "
                                                               "configured limit of 30K for the deployment"}])
    assert isinstance(outcome, LLMTransportError) and outcome.retryable
    assert "token_limit_exceeded" in str(outcome) and "enqueued" in str(outcome)
    assert "Global-Batch" not in str(outcome)


def test_a_failed_batch_quotes_the_servers_errors_without_the_key(azure_client: Any) -> None:
    with MockOpenAIServer(replies=["fine"]) as server:
        client, wrapper, _ = azure_client(server)
        outcome = _failing_batch(client, wrapper, [{"code": "model_not_found", "line": 1, "param": None,
                                                    "message": f"no deployment for the key {KEY}"}])
    assert isinstance(outcome, LLMTransportError) and not outcome.retryable
    assert "model_not_found" in str(outcome) and "Global-Batch" in str(outcome)
    assert KEY not in str(outcome)


def test_a_run_stopped_while_two_deployments_batches_wait_resumes_both(azure_client: Any, tmp_path: Path) -> None:
    def echo(body: dict[str, Any]) -> str:
        return f"{body['model']}:{body['messages'][-1]['content']}"

    async def ask(client: LLMClient, stop_after: BatchWrapper | None = None) -> list[Any]:
        with batch_mode(client):
            calls = asyncio.gather(*(client.acomplete([{"role": "user", "content": f"q{i}"}],
                                                      model=f"deployment-{i % 2}") for i in range(4)))
        if stop_after is None:
            return await calls
        deadline = time.monotonic() + 30
        while len(stop_after.submitted) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        calls.cancel()  # stopped while both batches wait
        return []

    store = BatchStore(tmp_path / "run.sqlite")
    with MockOpenAIServer(reply_fn=echo, batch_latency_s=2.0) as server:
        first, first_wrapper, _ = azure_client(server)
        first_wrapper.store = store
        asyncio.run(ask(first, stop_after=first_wrapper))
        assert len(first_wrapper.submitted) == 2 and len(store.batches()) == 2
        second, second_wrapper, _ = azure_client(server)
        second_wrapper.store = store
        answers = asyncio.run(ask(second))
        stats = server.stats()
    store.close()
    assert [a.value for a in answers] == [f"deployment-{i % 2}:q{i}" for i in range(4)]
    assert second_wrapper.submitted == [] and sorted(second_wrapper.resumed) == sorted(first_wrapper.submitted)
    assert stats["batch_requests_completed"] == 4 and stats["completed_twice"] == 0
