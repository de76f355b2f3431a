"""Provider batch mode end to end against the mock server's Batch API: submission, polling, answers
mapped back by custom_id, structured answers, re-asks, failed lines, expiry, resume after a kill."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import (
    ROOT,
    agent_in,
    azure_settings,
    batch_clients,
    check_expired_rest_sent_again,
    fast,
    killed_then_run_again,
    openai_settings,
    reasked,
    talk,
    world_of,
)
from helpers import turn

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.errors import ConfigError, LLMTransportError
from tinytroupe.events import BatchEvent, Event
from tinytroupe.extraction import ResultsExtractor
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.batch import BatchWrapper, batch_mode
from tinytroupe.storage.batches import BatchStore


def settings(server: MockOpenAIServer) -> Settings:
    return Settings.model_validate({"openai": {**openai_settings(server), "max_attempts": 1}})


@pytest.fixture
def batch_client() -> Iterator[Any]:
    with batch_clients(openai_settings) as make:
        yield make


def test_a_step_goes_out_as_one_batch_and_each_answer_reaches_its_agent(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_latency_s=0.1) as server:
        client, wrapper, seen = batch_client(server)
        world = world_of(client, 5)
        actions = world.run(1, batch=True, return_actions=True)
        assert world.errors == []
        assert actions is not None
        for name, acts in actions[0].items():
            # mapped back by custom_id: each agent got the answer to its own request
            assert acts[0].type == "TALK" and acts[0].content == f"{name} answers"
        assert server.chat_requests() == []  # nothing went live
        assert len(wrapper.submitted) == 1 and server.stats()["batch_requests_completed"] == 5
        lines = [json.loads(t) for t in server.state.batch.content(
            server.state.batch.batch(wrapper.submitted[0])["input_file_id"]).decode().splitlines()]
        assert {line["url"] for line in lines} == {"/v1/chat/completions"}
        # structured output asked exactly as live: a strict json_schema
        assert all(line["body"]["response_format"]["type"] == "json_schema" for line in lines)
    phases = [e.phase for e in seen if isinstance(e, BatchEvent)]
    assert phases[0] == "submitted" and phases[-1] == "done" and "progress" in phases
    done = next(e for e in seen if isinstance(e, BatchEvent) and e.phase == "done")
    assert (done.completed, done.total, done.world) == (5, 5, "Room")
    assert client.get_cost_stats()["total"]["calls"] == 5


def test_a_malformed_answer_is_reasked_in_a_second_small_batch(batch_client: Any) -> None:
    def reply(body: dict[str, Any]) -> Any:
        if agent_in(body) == "Agent1" and not reasked(body):
            return "Sure! Here is what I would do: talk to everyone."  # prose, not JSON
        return talk(body)

    with MockOpenAIServer(reply_fn=reply) as server:
        client, wrapper, _ = batch_client(server)
        world = world_of(client, 3)
        actions = world.run(1, batch=True, return_actions=True)
        assert world.errors == [] and actions is not None
        assert actions[0]["Agent1"][0].content == "Agent1 answers"
        assert len(wrapper.submitted) == 2
        second = server.state.batch.batch(wrapper.submitted[1])
        assert second is not None and second["request_counts"]["total"] == 1


def test_a_failed_line_fails_that_agent_only_with_a_typed_error(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_fail_when=lambda b: 400 if agent_in(b) == "Agent2" else None) as server:
        client, _, _ = batch_client(server)
        world = world_of(client, 4)
        actions = world.run(1, batch=True, return_actions=True)
        assert [e.agent for e in world.errors] == ["Agent2"]
        error = world.errors[0]
        assert isinstance(error.exception, LLMTransportError) and error.exception.status_code == 400
        assert actions is not None and actions[0]["Agent2"] == []  # nothing made up for it
        assert all(actions[0][f"Agent{i}"][0].content == f"Agent{i} answers" for i in (0, 1, 3))


def test_a_line_that_failed_with_a_retryable_status_is_sent_again_and_answered(batch_client: Any) -> None:
    failed_once: set[str] = set()

    def fail(body: dict[str, Any]) -> int | None:
        name = agent_in(body)
        if name == "Agent1" and name not in failed_once:
            failed_once.add(name)
            return 503
        return None

    with MockOpenAIServer(reply_fn=talk, batch_fail_when=fail) as server:
        client, wrapper, _ = batch_client(server)
        world = world_of(client, 3)
        actions = world.run(1, batch=True, return_actions=True)
        assert world.errors == [] and actions is not None
        assert actions[0]["Agent1"][0].content == "Agent1 answers"
        assert len(wrapper.submitted) == 2  # the second batch holds Agent1's request alone
        second = server.state.batch.batch(wrapper.submitted[1])
        assert second is not None and second["request_counts"]["total"] == 1


def test_a_line_that_keeps_failing_with_a_retryable_status_ends_as_that_error(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_fail_when=lambda b: 503 if agent_in(b) == "Agent0" else None) as server:
        client, wrapper, _ = batch_client(server)
        world = world_of(client, 2)
        actions = world.run(1, batch=True, return_actions=True)
        assert [e.agent for e in world.errors] == ["Agent0"]
        error = world.errors[0].exception
        assert isinstance(error, LLMTransportError) and error.status_code == 503
        assert len(wrapper.submitted) == 1 + wrapper.max_resends
        assert actions is not None and actions[0]["Agent0"] == [] and actions[0]["Agent1"]


def _spoil(line: str, how: str) -> str:
    """Agent1's line of an output file, spoiled ``how``."""
    if how == "cut":
        return line[: len(line) // 2]  # a line cut off: not JSON
    data = json.loads(line)
    if how == "refusal":  # the model declined: no content, a refusal
        data["response"]["body"]["choices"][0]["message"].update(content=None, refusal="I can't help with that")
    else:
        data["response"]["body"] = {"id": "x", "object": "chat.completion"} if how == "no_choices" else "oops"
    return json.dumps(data)


@pytest.mark.parametrize("how", ["cut", "no_choices", "not_an_object", "file_emptied"])
def test_an_output_line_that_is_cut_off_or_no_chat_completion_is_sent_again_not_kept(batch_client: Any,
                                                                                   tmp_path: Path, how: str) -> None:
    # A line of the output file that cannot be read (cut off), or a 200 line that is no chat completion,
    # or an output file that came back empty: as a live call whose body was cut off or malformed is retried,
    # the request is sent again and answered; the unusable line is never stored as the request's answer.
    with MockOpenAIServer(reply_fn=talk) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.store = store = BatchStore(tmp_path / "run.sqlite")
        add_file, spoiled = server.state.batch.add_file, []

        def spoiling(data: bytes, filename: str, purpose: str, status: str = "processed") -> dict[str, Any]:
            if purpose == "batch_output" and "output_file" in filename and not spoiled:
                spoiled.append(filename)
                lines = data.decode().splitlines()
                data = b"" if how == "file_emptied" else "".join(
                    (_spoil(t, how) if "Agent1 answers" in t else t) + "\n" for t in lines).encode()
            return add_file(data, filename, purpose, status)

        server.state.batch.add_file = spoiling  # type: ignore[method-assign]
        world = world_of(client, 3)
        actions = world.run(1, batch=True, return_actions=True)
        assert world.errors == [] and actions is not None
        assert all(actions[0][f"Agent{i}"][0].content == f"Agent{i} answers" for i in range(3))
        assert len(wrapper.submitted) == 2
        kept = store._conn.execute("SELECT result FROM llm_batch_requests WHERE state = 'completed'").fetchall()
        assert len(kept) == 3 and all("choices" in json.loads(r[0]) for r in kept)
        store.close()


def test_an_output_line_that_stays_unusable_fails_its_agent_only_after_the_resends(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=talk) as server:
        client, wrapper, _ = batch_client(server)
        add_file = server.state.batch.add_file

        def spoiling(data: bytes, filename: str, purpose: str, status: str = "processed") -> dict[str, Any]:
            if purpose == "batch_output":
                data = "".join((_spoil(t, "no_choices") if "Agent1 answers" in t else t) + "\n"
                               for t in data.decode().splitlines()).encode()
            return add_file(data, filename, purpose, status)

        server.state.batch.add_file = spoiling  # type: ignore[method-assign]
        world = world_of(client, 3)
        actions = world.run(1, batch=True, return_actions=True)
        assert [e.agent for e in world.errors] == ["Agent1"] and actions is not None
        error = world.errors[0].exception
        assert isinstance(error, LLMTransportError) and "usable chat completion" in str(error)
        assert len(wrapper.submitted) == 1 + wrapper.max_resends
        assert actions[0]["Agent1"] == [] and actions[0]["Agent0"][0].content == "Agent0 answers"


def test_a_refusal_in_a_batch_fails_only_its_own_agent(batch_client: Any) -> None:
    # A line whose model refused is a usable answer that fails its caller: checking the lines must not let
    # its error escape and lose the batch (and the others' answers) for everyone.
    with MockOpenAIServer(reply_fn=talk) as server:
        client, _, _ = batch_client(server)
        add_file = server.state.batch.add_file

        def spoiling(data: bytes, filename: str, purpose: str, status: str = "processed") -> dict[str, Any]:
            if purpose == "batch_output":
                data = "".join((_spoil(t, "refusal") if "Agent1 answers" in t else t) + "\n"
                               for t in data.decode().splitlines()).encode()
            return add_file(data, filename, purpose, status)

        server.state.batch.add_file = spoiling  # type: ignore[method-assign]
        world = world_of(client, 3)
        actions = world.run(1, batch=True, return_actions=True)
        assert [e.agent for e in world.errors] == ["Agent1"] and actions is not None
        assert "can't help" in str(world.errors[0].exception)
        assert actions[0]["Agent0"][0].content == "Agent0 answers"
        assert actions[0]["Agent2"][0].content == "Agent2 answers"


def test_one_batch_whose_results_cannot_be_fetched_fails_only_its_own_agents(batch_client: Any) -> None:
    # Two batches in one step (at most 2 requests each); the first batch's output file cannot be
    # downloaded (a 404 that retrying does not mend), the other answers. Its agents keep their answers.
    with MockOpenAIServer(reply_fn=talk) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.max_requests = 2
        real_lines = wrapper.api.lines
        refused: list[str] = []

        async def lines(file_id: str | None) -> list[dict[str, Any]]:
            if file_id and not refused:
                refused.append(file_id)
            if file_id in refused:
                raise LLMTransportError("the file is gone (HTTP 404)", status_code=404, retryable=False)
            return await real_lines(file_id)

        wrapper.api.lines = lines  # type: ignore[method-assign]
        world = world_of(client, 4)
        actions = world.run(1, batch=True, return_actions=True)
        assert len(wrapper.submitted) == 2 and actions is not None
        failed = sorted(e.agent for e in world.errors)
        assert len(failed) == 2 and all("404" in str(e.exception) for e in world.errors)
        answered = [name for name, acts in actions[0].items() if acts]
        assert sorted(answered + failed) == [f"Agent{i}" for i in range(4)]
        assert all(actions[0][name][0].content == f"{name} answers" for name in answered)


def test_an_expired_batch_keeps_its_answers_and_sends_only_the_rest_again(batch_client: Any,
                                                                         tmp_path: Path) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_expire_after=3) as server:
        client, wrapper, seen = batch_client(server)
        wrapper.store = store = BatchStore(tmp_path / "run.sqlite")
        world = world_of(client, 5)
        actions = world.run(1, batch=True, return_actions=True)
        second = check_expired_rest_sent_again(server, wrapper, world, actions, store, agents=5, kept=3)
        assert second["status"] == "completed"
        store.close()
    assert "expired" in [e.status for e in seen if isinstance(e, BatchEvent)]


def test_the_extractor_sends_its_calls_as_one_batch(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=lambda body: {"opinion": "fine"}) as server:
        client, wrapper, _ = batch_client(server)
        agents = [TinyPerson(f"Agent{i}", client=client) for i in range(3)]
        for agent in agents:
            agent.listen("Do you like the menu?")
        rows = ResultsExtractor("opinion", fields=["opinion"], client=client, batch=True) \
            .extract_results_from_agents(agents)
        assert [r["opinion"] for r in rows] == ["fine"] * 3
        assert len(wrapper.submitted) == 1 and server.chat_requests() == []


def test_a_backend_without_a_batch_api_is_refused_before_any_call() -> None:
    backend = ScriptedBackend([turn()], cycle=True)
    world = world_of(LLMClient(backend), 2)
    with pytest.raises(ConfigError, match="Batch API"):
        world.run(1, batch=True)
    assert backend.calls == 0 and world.current_step == 0
    with pytest.raises(ConfigError, match="Batch API"):
        ResultsExtractor("x", fields=["x"], client=LLMClient(backend), batch=True) \
            .extract_results_from_agents([TinyPerson("Ana")])


def test_outside_batch_mode_calls_go_live(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=talk) as server:
        client, wrapper, _ = batch_client(server)
        world_of(client, 2).run(1)
        assert len(server.chat_requests()) == 2 and wrapper.submitted == []


@pytest.mark.parametrize("dialect", ["openai", "azure"])
def test_a_run_killed_while_its_batch_waits_resumes_polling_the_same_batch(tmp_path: Path, dialect: str) -> None:
    with MockOpenAIServer(reply_fn=talk, batch_latency_s=1.0) as server:
        openai = openai_settings(server) if dialect == "openai" else azure_settings(server)
        report = killed_then_run_again(server, openai, tmp_path / "run.sqlite")
        stats = server.stats()
        prefix = "/v1" if dialect == "openai" else "/openai"
        created = [r for r in server.requests if r.path == f"{prefix}/batches"]
    assert report["submitted"] == [] and len(report["resumed"]) == 1 and report["errors"] == 0
    assert report["said"] == {f"Agent{i}": f"Agent{i} answers" for i in range(4)}
    assert stats["batches"] == {"completed": 1} and len(created) == 1  # created once, by the killed run
    assert stats["batch_requests_completed"] == 4 and stats["completed_twice"] == 0


def test_tinytroupe_run_batch_refuses_a_backend_without_a_batch_api(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tinytroupe.cli import app

    result = CliRunner().invoke(app, ["run", str(ROOT / "examples" / "survey.yaml"), "-b", "scripted", "-q",
                                      "--batch", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Batch API" in result.output
    assert not (tmp_path / "out" / "results.json").exists()


def test_tinytroupe_run_batch_sends_batches_and_records_them(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tinytroupe.cli import app

    monkeypatch.setattr(BatchWrapper, "__init__", _fast_init(BatchWrapper.__init__))
    with MockOpenAIServer() as server:
        monkeypatch.setenv("TINYTROUPE_OPENAI__BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
        out = tmp_path / "out"
        result = CliRunner().invoke(app, ["run", str(ROOT / "examples" / "survey.yaml"), "-b", "openai", "-m", "m",
                                          "--batch", "-o", str(out)])
        assert result.exit_code in (0, 3), result.output
        assert server.chat_requests() == [] and server.stats()["batches"].get("completed", 0) >= 2
    assert "batch batch-mock-" in result.output  # progress shown
    store = BatchStore(out / "batches.sqlite")
    assert {b["status"] for b in store.batches()} == {"completed"}
    store.close()


def _fast_init(init: Any) -> Any:
    def fast_init(self: BatchWrapper, inner: Any, **kwargs: Any) -> None:
        init(self, inner, **{"poll_interval_s": 0.02, "max_poll_interval_s": 0.02, "collect_window_s": 0.05,
                             **kwargs})
    return fast_init


def _ask_two(client: LLMClient) -> list[Any]:
    async def ask() -> list[Any]:
        with batch_mode(client):
            return await asyncio.gather(*(client.acomplete([{"role": "user", "content": f"q{i}"}])
                                          for i in range(2)), return_exceptions=True)
    return asyncio.run(ask())


def test_an_upload_answered_without_a_file_id_is_a_typed_error(batch_client: Any) -> None:
    # A proxy that answers 200 with an object but no id: the callers hear an LLMTransportError, not a KeyError.
    with MockOpenAIServer(replies=["fine"] * 2) as server:
        client, wrapper, _ = batch_client(server)
        real_json = wrapper.api._json

        async def no_id(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            found = await real_json(method, path, **kwargs)
            return {k: v for k, v in found.items() if k != "id"} if path == "/files" else found

        wrapper.api._json = no_id  # type: ignore[method-assign]
        outcomes = _ask_two(client)
    assert all(isinstance(o, LLMTransportError) and "id" in str(o) for o in outcomes), outcomes


def test_a_failed_batch_with_oddly_shaped_errors_and_counts_is_a_typed_error(batch_client: Any) -> None:
    with MockOpenAIServer(replies=["fine"] * 2) as server:
        client, wrapper, _ = batch_client(server)

        real_json = wrapper.api._json

        async def odd(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            found = await real_json(method, path, **kwargs)
            if method == "GET" and path.startswith("/batches/"):  # a bare list of errors, counts not an object
                found.update(status="failed", errors=["the file could not be read"], request_counts=[],
                             output_file_id=None, error_file_id=None)
            return found

        wrapper.api._json = odd  # type: ignore[method-assign]
        outcomes = _ask_two(client)
    for outcome in outcomes:
        assert isinstance(outcome, LLMTransportError), outcome
        assert "the file could not be read" in str(outcome) and not outcome.retryable


def test_polling_a_batch_through_transient_failures_ends_after_max_unreachable_s(batch_client: Any) -> None:
    # The server answers the upload and the create, then every poll fails transiently (a server gone
    # for good): the callers get that failure after max_unreachable_s instead of waiting forever, and
    # the error says the batch can be resumed.
    with MockOpenAIServer(reply_fn=talk) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.max_unreachable_s = 0.3
        polls: list[str] = []

        async def retrieve(batch_id: str) -> dict[str, Any]:
            polls.append(batch_id)
            raise LLMTransportError("the server is unreachable (connection refused)", retryable=True)

        wrapper.api.retrieve = retrieve  # type: ignore[method-assign]
        world = world_of(client, 2)
        started = time.monotonic()
        world.run(1, batch=True)
        assert time.monotonic() - started < 10
        assert len(wrapper.submitted) == 1 and len(polls) >= 2
        assert sorted(e.agent for e in world.errors) == ["Agent0", "Agent1"]
        for error in world.errors:
            assert isinstance(error.exception, LLMTransportError) and error.exception.retryable
            assert "run again to resume it" in str(error.exception) and wrapper.submitted[0] in str(error.exception)


def _batch_run(path: Path, server: MockOpenAIServer) -> tuple[BatchWrapper, Any]:

    sim = control.begin(path, settings=settings(server), quiet=True)
    try:
        wrapper = fast(sim.client)
        world = world_of(sim.client, 2)
        world.run(1, batch=True)
        return wrapper, world
    finally:
        control.end()


def test_a_recorded_batch_the_server_no_longer_knows_is_sent_again_once(tmp_path: Path) -> None:
    # The first run's batch is recorded, then its polling fails for good (its callers get the error).
    # The re-run meets a server that never heard of that batch (a 404): its requests go out in a new
    # batch and are answered, and the lost batch is marked so that a third run does not ask for it.
    path = tmp_path / "run.sqlite"
    with MockOpenAIServer(reply_fn=talk) as first:
        sim = control.begin(path, settings=settings(first), quiet=True)
        try:
            wrapper = fast(sim.client)

            async def gone(batch_id: str) -> dict[str, Any]:
                raise LLMTransportError("the batch service is gone (HTTP 410)", status_code=410, retryable=False)

            wrapper.api.retrieve = gone  # type: ignore[method-assign]
            world = world_of(sim.client, 2)
            world.run(1, batch=True)
            lost = list(wrapper.submitted)
            assert len(lost) == 1 and len(world.errors) == 2
        finally:
            control.end()
        port = first.port
    with MockOpenAIServer(reply_fn=talk, port=port) as second:  # the same address: the same requests
        wrapper, world = _batch_run(path, second)
        assert wrapper.resumed == lost and len(wrapper.submitted) == 1 and not world.errors
        assert next(a.content for a in world.agents[0].memory.items() if a.kind == "action") == "Agent0 answers"
        assert {b["batch_id"]: b["status"] for b in BatchStore(path).batches()}[lost[0]] == "lost"
        wrapper, world = _batch_run(path, second)  # answered from the run file: nothing resumed, nothing sent
        assert wrapper.resumed == [] and wrapper.submitted == [] and not world.errors


def test_a_request_that_last_failed_by_expiry_says_so_not_an_older_503(batch_client: Any) -> None:
    # Agent0's line fails with a 503 in the first batch; the batches it is sent again in expire before
    # answering it. Its error names the expiry (what happened last), not the 503 of the first batch.
    calls: list[str] = []

    def fail(body: dict[str, Any]) -> int | None:
        calls.append(str(agent_in(body)))
        return 503 if agent_in(body) == "Agent0" and calls.count("Agent0") == 1 else None

    with MockOpenAIServer(reply_fn=talk, batch_fail_when=fail) as server:
        client, wrapper, _ = batch_client(server)

        def expire_later(event: Event) -> None:
            if isinstance(event, BatchEvent) and event.phase == "done":
                server.state.batch.expire_after = 0  # every batch after the first answers nothing

        client.bus.subscribe(expire_later, kinds=["batch"])
        world = world_of(client, 2)
        world.run(1, batch=True)
        assert [e.agent for e in world.errors] == ["Agent0"]
        error = world.errors[0].exception
        assert isinstance(error, LLMTransportError) and error.status_code != 503
        assert "expired" in str(error) and len(wrapper.submitted) == 1 + wrapper.max_resends
