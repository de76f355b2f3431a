"""Batch lines refused for their logprobs fields, against the mock server over real HTTP: such a line goes
out again without them in the next round (once), the backend remembers the refusal as a live call's does
(``gives_logprobs`` False: later lines and live calls do not ask, callers sample), each caller gets its own
answer with no logprobs, nothing is paid twice (also when a run stopped while the re-sent lines waited is
run again), and a 400 that is no refusal of logprobs still fails only its caller."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import batch_clients, input_lines, openai_settings

from tinytroupe.agent.distribution import aask_options
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.errors import LLMTransportError
from tinytroupe.llm import LLMClient, LLMResult
from tinytroupe.llm.batch import BatchWrapper, batch_mode
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.storage.batches import BatchStore

LABELS = ("A", "B")


@pytest.fixture
def batch_client() -> Iterator[Any]:
    with batch_clients(openai_settings) as make:
        yield make


def question(i: int) -> str:
    return f"Q{i}?\nA. yes\nB. no"


def echo(body: dict[str, Any]) -> str:
    """Each caller's own answer: the first line of its question."""
    return "answer to " + str(body["messages"][-1]["content"]).split("\n")[0]


async def ask(client: LLMClient, asks: list[tuple[int, bool]]) -> list[LLMResult[Any] | BaseException]:
    """Ask each ``(question number, with logprob labels)`` in one batch-mode block; results in order."""
    with batch_mode(client):
        return await asyncio.gather(*(
            client.acomplete([{"role": "user", "content": question(i)}], max_tokens=3,
                             **({"logprob_labels": LABELS} if labelled else {})) for i, labelled in asks),
            return_exceptions=True)


def asked_logprobs(server: MockOpenAIServer, batch_id: str) -> dict[str, bool]:
    """``custom_id -> whether its line asked for logprobs`` in one batch's input file."""
    lines = input_lines(server, batch_id)
    return {line["custom_id"]: "logprobs" in line["body"] or "top_logprobs" in line["body"] for line in lines}


def answered(results: list[Any], numbers: list[int]) -> None:
    """Each result is its own question's answer, with no logprobs."""
    for result, i in zip(results, numbers, strict=True):
        assert isinstance(result, LLMResult), result
        assert result.text == f"answer to Q{i}?" and result.logprobs is None


def test_the_mock_server_refuses_logprobs_live_and_the_backend_asks_again_without_them() -> None:
    with MockOpenAIServer(reply_fn=echo, reject_logprobs=True) as server:
        client = LLMClient(OpenAIBackend(model="m", base_url=server.base_url, api_key="sk-test"))
        result = client.complete([{"role": "user", "content": question(0)}], logprob_labels=LABELS, max_tokens=3)
        client.close()
        sent = server.chat_requests()
    assert [("logprobs" in body, "top_logprobs" in body) for body in sent] == [(True, True), (False, False)]
    answered([result], [0])
    assert client.gives_logprobs is False


def test_lines_refused_for_logprobs_go_again_without_them_once_and_the_backend_remembers(
        batch_client: Any, tmp_path: Path) -> None:
    with MockOpenAIServer(reply_fn=echo, reject_logprobs=True) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.store = store = BatchStore(tmp_path / "run.sqlite")
        assert client.gives_logprobs is None
        results = asyncio.run(ask(client, [(i, True) for i in range(4)]))
        answered(results, list(range(4)))
        assert client.gives_logprobs is False and wrapper.backend.gives_logprobs is False
        first, second = wrapper.submitted
        # every line twice: with logprobs (refused, answered nothing), then without (answered)
        assert set(asked_logprobs(server, first).values()) == {True}
        assert asked_logprobs(server, second) == dict.fromkeys(asked_logprobs(server, first), False)
        refused = server.state.batch.batch(first)
        assert refused is not None and refused["request_counts"] == {"total": 4, "completed": 0, "failed": 4}
        assert server.stats()["batch_requests_completed"] == 4 and server.stats()["completed_twice"] == 0
        assert [b["status"] for b in store.batches()] == ["completed", "completed"]
        assert all(store.result(key) is not None and store.result(key)[0] == "completed"  # type: ignore[index]
                   for key in asked_logprobs(server, second))
        # remembered: a later batch line and a live call ask without logprobs at once (no refusal, no resend)
        answered(asyncio.run(ask(client, [(4, True)])), [4])
        assert len(wrapper.submitted) == 3 and asked_logprobs(server, wrapper.submitted[2]) != {}
        assert set(asked_logprobs(server, wrapper.submitted[2]).values()) == {False}
        live = client.complete([{"role": "user", "content": question(5)}], logprob_labels=LABELS, max_tokens=3)
        answered([live], [5])
        assert len(server.chat_requests()) == 1 and "logprobs" not in server.chat_requests()[0]
        store.close()
        # a re-run answers from the run file: nothing is sent again, nothing paid twice
        again, rerun, _ = batch_client(server)
        rerun.store = BatchStore(tmp_path / "run.sqlite")
        answered(asyncio.run(ask(again, [(i, True) for i in range(4)])), list(range(4)))
        assert rerun.submitted == [] and server.stats()["completed_twice"] == 0
        rerun.store.close()


def test_only_the_lines_that_asked_for_logprobs_are_sent_again(batch_client: Any) -> None:
    with MockOpenAIServer(reply_fn=echo, reject_logprobs=True) as server:
        client, wrapper, _ = batch_client(server)
        asks = [(0, True), (1, False), (2, True), (3, False)]
        results = asyncio.run(ask(client, asks))
        answered(results, [0, 1, 2, 3])
        first, second = wrapper.submitted
        in_first, in_second = asked_logprobs(server, first), asked_logprobs(server, second)
        assert sorted(in_first.values()) == [False, False, True, True]
        assert in_second == {key: False for key, asked in in_first.items() if asked}
        assert server.stats()["batch_requests_completed"] == 4 and server.stats()["completed_twice"] == 0
        assert client.gives_logprobs is False


def test_a_batch_of_lines_refused_for_logprobs_logs_the_refusal_once(
        batch_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with MockOpenAIServer(reply_fn=echo, reject_logprobs=True) as server:
        client, _, _ = batch_client(server)
        with caplog.at_level(logging.INFO, logger="tinytroupe.llm.openai_backend"):
            answered(asyncio.run(ask(client, [(i, True) for i in range(5)])), list(range(5)))
    said = [r for r in caplog.records if "refused logprobs" in r.getMessage()]
    assert len(said) == 1 and client.gives_logprobs is False


@pytest.mark.parametrize("refuse_logprobs", [False, True])
def test_a_400_that_is_no_refusal_of_logprobs_fails_only_its_caller_and_is_not_sent_again(
        batch_client: Any, refuse_logprobs: bool) -> None:
    def fail_q1(body: dict[str, Any]) -> int | None:
        return 400 if "Q1?" in str(body["messages"][-1]["content"]) else None

    with MockOpenAIServer(reply_fn=echo, reject_logprobs=refuse_logprobs, batch_fail_when=fail_q1) as server:
        client, wrapper, _ = batch_client(server)
        results = asyncio.run(ask(client, [(i, True) for i in range(3)]))
        failed = results[1]
        assert isinstance(failed, LLMTransportError) and failed.status_code == 400
        assert "logprob" not in str(failed).lower()
        for result, i in ((results[0], 0), (results[2], 2)):
            assert isinstance(result, LLMResult) and result.text == f"answer to Q{i}?"
            assert (result.logprobs is None) is refuse_logprobs
        assert client.gives_logprobs is (not refuse_logprobs)
        sent = [asked_logprobs(server, b) for b in wrapper.submitted]
        assert len(sent) == (2 if refuse_logprobs else 1) and len(sent[0]) == 3
        if refuse_logprobs:  # the failed line is not among those sent again
            assert len(sent[1]) == 2 and set(sent[1]) < set(sent[0]) and set(sent[1].values()) == {False}
        assert server.stats()["batch_requests_completed"] == 2 and server.stats()["completed_twice"] == 0


def test_a_run_stopped_while_its_resent_lines_wait_resumes_them_without_paying_twice(
        batch_client: Any, tmp_path: Path) -> None:
    with MockOpenAIServer(reply_fn=echo, reject_logprobs=True, batch_latency_s=0.3) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.store = BatchStore(tmp_path / "run.sqlite")

        async def stop_once_resent(wrapper: BatchWrapper) -> None:
            with batch_mode(client):
                calls = [asyncio.ensure_future(client.acomplete([{"role": "user", "content": question(i)}],
                                                                logprob_labels=LABELS, max_tokens=3))
                         for i in range(3)]
            deadline = time.monotonic() + 30
            while len(wrapper.submitted) < 2:  # the refused lines' second batch is recorded: stop the run
                assert time.monotonic() < deadline, "the refused lines were never sent again"
                await asyncio.sleep(0.01)
            for call in calls:
                call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)

        asyncio.run(stop_once_resent(wrapper))
        wrapper.store.close()
        resent = wrapper.submitted[1]
        # a new run (a new backend, which knows nothing of the refusal) follows the recorded second batch
        again, rerun, _ = batch_client(server)
        rerun.store = BatchStore(tmp_path / "run.sqlite")
        answered(asyncio.run(ask(again, [(i, True) for i in range(3)])), [0, 1, 2])
        assert rerun.resumed == [resent] and rerun.submitted == []
        assert again.gives_logprobs is False  # its answers came without logprobs
        assert server.stats()["batch_requests_completed"] == 3 and server.stats()["completed_twice"] == 0
        rerun.store.close()


def test_a_distribution_asked_in_batch_mode_samples_when_the_server_refuses_logprobs(batch_client: Any) -> None:
    with MockOpenAIServer(reject_logprobs=True) as server:
        client, wrapper, _ = batch_client(server)

        async def ask_all() -> list[Any]:
            with batch_mode(client):
                return await asyncio.gather(*(aask_options(client, f"Do you cycle, person {i}?", ["Yes", "No"],
                                                           samples=2, seed=i) for i in range(2)))

        answers = asyncio.run(ask_all())
        assert [a.method for a in answers] == ["sampled", "sampled"]
        assert all("gave no log-probabilities" in str(a.fallback_reason) and a.calls == 3 for a in answers)
        assert client.gives_logprobs is False
        # the refused logprobs lines, the same lines without them, then the samples
        assert [len(input_lines(server, b)) for b in wrapper.submitted] == [2, 2, 4]
        assert server.stats()["completed_twice"] == 0
