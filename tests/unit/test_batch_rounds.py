"""Batch mode across rounds and groups, against the mock server over real HTTP: a line refused for its
structured-output form goes out again in the fallback form, batches of different models (deployments)
are submitted and followed concurrently, and each input file stays under a byte cap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import azure_settings, fast, input_lines, openai_settings, talk, world_of
from helpers import turn
from pydantic import BaseModel

from tinytroupe.config import Settings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.errors import LLMTransportError
from tinytroupe.llm import LLMClient
from tinytroupe.llm.batch import BatchWrapper, batch_mode
from tinytroupe.llm.batch_lines import BatchRequestTooLarge, plan_files
from tinytroupe.llm.factory import build_client
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.storage.batches import BatchStore


class Probe(BaseModel):
    value: str


@pytest.fixture
def batch_client() -> Iterator[Any]:
    made: list[LLMClient] = []

    def make(server: MockOpenAIServer, **changes: Any) -> tuple[LLMClient, BatchWrapper]:
        openai = {**openai_settings(server), "max_attempts": 1, **changes}
        client = build_client(Settings.model_validate({"openai": openai}))
        made.append(client)
        return client, fast(client)

    yield make
    for client in made:
        client.close()


def forms(server: MockOpenAIServer, batch_id: str) -> set[str]:
    """The structured-output forms the lines of a batch asked for."""
    found = set()
    for line in input_lines(server, batch_id):
        body = line["body"]
        found.add(body["response_format"]["type"] if "response_format" in body
                  else "tools" if isinstance(body.get("tool_choice"), dict) else "prompt")
    return found


# ---------------------------------------------------------------- structured-output fallback

@pytest.mark.parametrize(("refused", "status", "landing"), [
    ({"json_schema"}, 400, "json_object"),  # OpenAI: a model without json_schema
    ({"json_schema"}, 500, "json_object"),  # llama-cpp-python: a 500, which a retry would not mend
    ({"json_schema", "json_object"}, 400, "tools"),
])
def test_a_line_refused_for_its_structured_form_goes_out_again_in_the_form_the_live_path_falls_back_to(
        batch_client: Any, tmp_path: Path, refused: set[str], status: int, landing: str) -> None:
    with MockOpenAIServer(reply_fn=talk, rejected_formats=refused, format_refusal_status=status) as server:
        live = OpenAIBackend(model="m", base_url=server.base_url, api_key="sk-test")
        probe = LLMClient(live)
        assert probe.complete([{"role": "user", "content": "hi"}], response_model=Probe).value == Probe(value="x")
        probe.close()
        live_calls = len(server.chat_requests())
        client, wrapper = batch_client(server)
        wrapper.store = store = BatchStore(tmp_path / "run.sqlite")
        world = world_of(client, 3)
        actions = world.run(1, batch=True, return_actions=True)
        assert world.errors == [] and actions is not None
        assert all(acts[0].content == f"{name} answers" for name, acts in actions[0].items())
        rounds = [forms(server, b) for b in wrapper.submitted]
        # the run file has each answer in the form that was answered (a re-run parses it so)
        keys = [line["custom_id"] for line in input_lines(server, wrapper.submitted[-1])]
        assert len(keys) == 3 and all(store.result(k)[2] == landing for k in keys)  # type: ignore[index]
        assert {b["status"] for b in store.batches()} == {"completed"}
        # the backend remembers the downgrade, as a live call's does: the next step asks that way at once
        assert wrapper.backend.structured_mode == live.structured_mode == landing
        world.run(1, batch=True)
        assert world.errors == [] and forms(server, wrapper.submitted[-1]) == {landing}
        assert len(server.chat_requests()) == live_calls  # nothing in batch mode went live
        store.close()
    ladder = ["json_schema", "json_object", "tools"]
    assert rounds == [{form} for form in ladder[:ladder.index(landing) + 1]]


def test_a_refused_form_is_not_changed_when_the_form_was_chosen_and_other_400s_still_fail(
        batch_client: Any) -> None:
    # structured_output = json_schema (not auto): the live path does not fall back, nor does a batch line
    with MockOpenAIServer(reply_fn=lambda body: turn(("TALK", "hi", "")), reject_json_schema=True,
                          format_refusal_status=400) as server:
        client, wrapper = batch_client(server, structured_output="json_schema")
        world = world_of(client, 2)
        world.run(1, batch=True)
        assert len(wrapper.submitted) == 1 and wrapper.backend.structured_mode == "json_schema"
    assert sorted(e.agent for e in world.errors) == ["Agent0", "Agent1"]
    for error in world.errors:
        assert isinstance(error.exception, LLMTransportError) and error.exception.status_code == 400
        assert "not supported with this model" in str(error.exception)


def test_a_400_that_is_no_refusal_of_the_form_fails_its_caller_without_a_fallback(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_fail_when=lambda body: 400) as server:
        client, wrapper = batch_client(server)
        world = world_of(client, 2)
        world.run(1, batch=True)
        assert len(wrapper.submitted) == 1 and wrapper.backend.structured_mode == "json_schema"
    assert len(world.errors) == 2
    assert all(isinstance(e.exception, LLMTransportError) and e.exception.status_code == 400 for e in world.errors)


def test_a_line_sent_again_after_a_5xx_asks_in_the_form_the_backend_fell_back_to_meanwhile(
        batch_client: Any) -> None:
    # one batch: Agent0's line is refused for json_schema (the backend falls back to json_object), Agent1's
    # fails with a 503. A live retry asks in the backend's form of the moment; so must Agent1's resend,
    # or it is refused in the next batch and answered only in a third (each batch may take hours)
    failed: list[str] = []

    def fail_once(body: dict[str, Any]) -> int | None:
        if "Agent1" in json.dumps(body) and not failed:
            failed.append("Agent1")
            return 503
        return None

    with MockOpenAIServer(reply_fn=talk, reject_json_schema=True, format_refusal_status=400,
                          batch_fail_when=fail_once) as server:
        client, wrapper = batch_client(server)
        world = world_of(client, 2)
        actions = world.run(1, batch=True, return_actions=True)
        rounds = [forms(server, b) for b in wrapper.submitted]
    assert world.errors == [] and actions is not None and failed == ["Agent1"]
    assert rounds == [{"json_schema"}, {"json_object"}]


# ---------------------------------------------------------------- groups submitted concurrently

def _echo(body: dict[str, Any]) -> str:
    return f"{body['model']}:{body['messages'][-1]['content']}"


def _gate_uploads(wrapper: BatchWrapper, slow: str, gate: list[asyncio.Event]) -> None:
    """Hold the uploads of deployment ``slow`` (as Azure keeps a file pending) until ``gate[0]`` is set,
    for at most 5 s: then they fail, as an upload still pending after the file wait does."""
    real_upload = wrapper.api.upload

    async def upload(lines: list[bytes], *args: Any, **kwargs: Any) -> str:
        if json.loads(lines[0])["body"]["model"] == slow:
            try:
                await asyncio.wait_for(gate[0].wait(), 5)
            except TimeoutError:
                raise LLMTransportError("the upload was still pending", retryable=True) from None
        return await real_upload(lines, *args, **kwargs)

    wrapper.api.upload = upload  # type: ignore[method-assign]


async def _ask_slow_then_fast(client: LLMClient, gate: list[asyncio.Event], fast_calls: int = 2) -> list[Any]:
    """Ask deployment ``slow`` first, then ``fast``; the gate opens once every ``fast`` caller has its answer."""
    gate.append(asyncio.Event())
    with batch_mode(client):
        slow = [asyncio.ensure_future(client.acomplete([{"role": "user", "content": f"s{i}"}], model="slow"))
                for i in range(2)]
        fast = [asyncio.ensure_future(client.acomplete([{"role": "user", "content": f"f{i}"}], model="fast"))
                for i in range(fast_calls)]
    answered = await asyncio.gather(*fast, return_exceptions=True)
    gate[0].set()
    return [*await asyncio.gather(*slow, return_exceptions=True), *answered]


@pytest.mark.parametrize("resend", [False, True])
def test_a_deployment_whose_upload_waits_does_not_hold_back_another_deployments_batch(
        batch_client: Any, resend: bool) -> None:
    # with resend, one "fast" line fails once with a 503: its second round must not wait for "slow" either
    failed: list[str] = []

    def fail_once(body: dict[str, Any]) -> int | None:
        if resend and body["messages"][-1]["content"] == "f1" and not failed:
            failed.append("f1")
            return 503
        return None

    with MockOpenAIServer(reply_fn=_echo, batch_fail_when=fail_once) as server:
        client, wrapper = batch_client(server, **azure_settings(server))
        gate: list[asyncio.Event] = []
        _gate_uploads(wrapper, "slow", gate)
        outcomes = asyncio.run(_ask_slow_then_fast(client, gate))
    assert [getattr(o, "value", o) for o in outcomes] == ["slow:s0", "slow:s1", "fast:f0", "fast:f1"]
    assert len(wrapper.submitted) == 2 + resend and failed == (["f1"] if resend else [])


def test_a_resumed_batch_is_followed_while_a_new_batch_waits_for_its_upload(batch_client: Any,
                                                                          tmp_path: Path) -> None:
    store = BatchStore(tmp_path / "run.sqlite")
    with MockOpenAIServer(reply_fn=_echo) as server:
        # a first run submits the "fast" request and stops following it (its batch stays recorded)
        first, first_wrapper = batch_client(server, **azure_settings(server))
        first_wrapper.store = store

        async def gone(batch_id: str) -> dict[str, Any]:
            raise LLMTransportError("stopped", retryable=False)

        first_wrapper.api.retrieve = gone  # type: ignore[method-assign]

        async def ask_fast() -> Any:
            with batch_mode(first):
                return await asyncio.gather(first.acomplete([{"role": "user", "content": "f0"}], model="fast"),
                                            return_exceptions=True)

        assert isinstance(asyncio.run(ask_fast())[0], LLMTransportError) and len(store.batches()) == 1
        # the re-run resumes it while the new "slow" batch's upload waits
        client, wrapper = batch_client(server, **azure_settings(server))
        wrapper.store = store
        gate: list[asyncio.Event] = []
        _gate_uploads(wrapper, "slow", gate)
        outcomes = asyncio.run(_ask_slow_then_fast(client, gate, fast_calls=1))
        stats = server.stats()
    store.close()
    assert [getattr(o, "value", o) for o in outcomes] == ["slow:s0", "slow:s1", "fast:f0"]
    assert wrapper.resumed == first_wrapper.submitted and len(wrapper.submitted) == 1
    assert stats["completed_twice"] == 0


# ---------------------------------------------------------------- files under a byte cap

def _ask(client: LLMClient, contents: list[str]) -> list[Any]:
    async def ask() -> list[Any]:
        with batch_mode(client):
            return await asyncio.gather(*(client.acomplete([{"role": "user", "content": c}]) for c in contents),
                                        return_exceptions=True)
    return asyncio.run(ask())


@pytest.mark.parametrize("dialect", ["openai", "azure"])
def test_a_group_is_split_into_batches_whose_files_stay_under_max_file_bytes(batch_client: Any,
                                                                             dialect: str) -> None:
    # about 1,150 bytes a line: at most two in a file of 3,000 bytes
    contents = [f"{i}" + "x" * 1000 for i in range(5)]
    with MockOpenAIServer(reply_fn=lambda body: body["messages"][-1]["content"][:1]) as server:
        client, wrapper = batch_client(server, **({} if dialect == "openai" else azure_settings(server)))
        wrapper.max_file_bytes = 3000
        outcomes = _ask(client, contents)
        sizes = [len(server.state.batch.content(server.state.batch.batch(b)["input_file_id"]) or b"")
                 for b in wrapper.submitted]
        counts = [len(input_lines(server, b)) for b in wrapper.submitted]
    assert [getattr(o, "value", o) for o in outcomes] == ["0", "1", "2", "3", "4"]
    assert sorted(counts) == [1, 2, 2] and all(1000 < size <= 3000 for size in sizes), sizes


def test_a_request_over_max_file_bytes_fails_its_caller_naming_its_size_and_is_never_sent(
        batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=lambda body: "fine") as server:
        client, wrapper = batch_client(server)
        wrapper.max_file_bytes = 3000
        outcomes = _ask(client, ["short", "y" * 5000, "also short"])
        sent = [line["body"]["messages"][-1]["content"] for b in wrapper.submitted for line in input_lines(server, b)]
    assert [getattr(o, "value", None) for o in outcomes] == ["fine", None, "fine"]
    error = outcomes[1]
    assert isinstance(error, BatchRequestTooLarge) and isinstance(error, LLMTransportError)
    assert not error.retryable and error.size_bytes > 5000 and error.max_file_bytes == 3000
    assert f"{error.size_bytes:,} bytes" in str(error) and "3,000" in str(error)
    assert sorted(sent) == ["also short", "short"]  # nothing of it was uploaded


def test_plan_files_keeps_each_model_apart_and_each_file_under_both_caps() -> None:
    lines = {"a": b"x" * 30, "b": b"x" * 30, "c": b"x" * 30, "d": b"x" * 30, "e": b"x" * 60, "f": b"x" * 61}
    models = {"a": "m", "b": "n", "c": "m", "d": "m", "e": "n", "f": "m"}
    assert plan_files(lines, models, max_requests=2, max_file_bytes=60) == ([["a", "c"], ["b"], ["d"], ["e"]], ["f"])
    assert plan_files(lines, models, max_requests=3, max_file_bytes=1000) == ([["a", "c", "d"], ["f"], ["b", "e"]],
                                                                            [])


# ---------------------------------------------------------------- callers that gave up (Ctrl-C in world.run)

async def _settled(wrapper: BatchWrapper) -> None:
    """Wait for every round of batches of this loop to end (world.run's portal loop keeps them running
    after the run was cancelled)."""
    while wrapper._collectors.get().tasks:
        await asyncio.gather(*wrapper._collectors.get().tasks, return_exceptions=True)


def test_no_batch_is_created_for_callers_that_all_gave_up_while_its_upload_waited(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=_echo) as server:
        client, wrapper = batch_client(server)
        real_upload = wrapper.api.upload

        async def scenario() -> list[Any]:
            uploading, release = asyncio.Event(), asyncio.Event()

            async def upload(lines: list[bytes], *args: Any, **kwargs: Any) -> str:
                uploading.set()  # as Azure keeps a file pending, for minutes
                await release.wait()
                return await real_upload(lines, *args, **kwargs)

            wrapper.api.upload = upload  # type: ignore[method-assign]
            with batch_mode(client):
                calls = [asyncio.ensure_future(client.acomplete([{"role": "user", "content": f"c{i}"}]))
                         for i in range(2)]
            await uploading.wait()
            for call in calls:  # the run is interrupted: its turns are cancelled, the round goes on
                call.cancel()
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            release.set()
            await _settled(wrapper)
            return outcomes

        outcomes = asyncio.run(scenario())
        stats = server.stats()
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert wrapper.submitted == [] and stats["batches"] == {}  # nothing paid for nobody


def test_what_an_expired_batch_left_is_not_sent_again_for_callers_that_gave_up(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=_echo, batch_expire_after=1) as server:
        client, wrapper = batch_client(server)
        real_retrieve = wrapper.api.retrieve
        calls: list[asyncio.Future[Any]] = []

        async def retrieve(batch_id: str) -> dict[str, Any]:
            batch = await real_retrieve(batch_id)
            if batch["status"] == "expired":  # the run is interrupted just as its batch ends
                for call in calls:
                    call.cancel()
            return batch

        wrapper.api.retrieve = retrieve  # type: ignore[method-assign]

        async def scenario() -> list[Any]:
            with batch_mode(client):
                calls.extend(asyncio.ensure_future(client.acomplete([{"role": "user", "content": f"c{i}"}]))
                             for i in range(3))
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            await _settled(wrapper)
            return outcomes

        outcomes = asyncio.run(scenario())
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert len(wrapper.submitted) == 1  # the rest of the expired batch is not sent for nobody
