"""What a server refuses, kept in the run file (``llm_server_facts``), against the mock server over real
HTTP: a re-run with a new backend asks the way that works from its first batch (no round of lines refused
for their structured-output form or their logprobs), a form the user chose is left alone, and facts that
cannot be read cost one refused round, never the run."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import batch_clients, input_lines, openai_settings, talk, world_of

from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.llm import LLMClient, LLMResult
from tinytroupe.llm.batch import batch_mode
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.server_facts import FactKeeper, ServerFacts, adopt, learned, server_key
from tinytroupe.storage.batches import BatchStore

LABELS = ("A", "B")


@pytest.fixture
def batch_client() -> Iterator[Any]:
    with batch_clients(openai_settings) as make:
        yield make


def forms(server: MockOpenAIServer, batch_id: str) -> set[str]:
    """The structured-output forms the lines of a batch asked for."""
    return {line["body"]["response_format"]["type"] if "response_format" in line["body"] else "other"
            for line in input_lines(server, batch_id)}


def asked_logprobs(server: MockOpenAIServer, batch_id: str) -> set[bool]:
    return {"logprobs" in line["body"] for line in input_lines(server, batch_id)}


async def ask(client: LLMClient, numbers: range) -> list[Any]:
    with batch_mode(client):
        return await asyncio.gather(*(
            client.acomplete([{"role": "user", "content": f"Q{i}?\nA. yes\nB. no"}], max_tokens=3,
                             logprob_labels=LABELS) for i in numbers), return_exceptions=True)


def test_a_rerun_asks_in_the_form_the_server_accepts_from_its_first_batch(batch_client: Any, tmp_path: Path) -> None:
    run_file = tmp_path / "run.sqlite"
    with MockOpenAIServer(reply_fn=talk, rejected_formats={"json_schema"}, format_refusal_status=400) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.store = BatchStore(run_file)
        world = world_of(client, 2)
        world.run(1, batch=True)
        assert world.errors == []
        assert [forms(server, b) for b in wrapper.submitted] == [{"json_schema"}, {"json_object"}]
        wrapper.store.close()
        # a new run on the same file (a new backend, which knows nothing yet), with one agent more (so
        # every prompt differs and nothing can be answered from the file): json_object from the first line
        again, rerun, _ = batch_client(server)
        rerun.store = BatchStore(run_file)
        assert rerun.backend.structured_mode == "json_schema"
        world = world_of(again, 3)
        world.run(1, batch=True)
        assert world.errors == [] and rerun.backend.structured_mode == "json_object"
        assert [forms(server, b) for b in rerun.submitted] == [{"json_object"}]
        assert len(input_lines(server, rerun.submitted[0])) == 3
        assert server.stats()["completed_twice"] == 0
        rerun.store.close()


def test_a_rerun_asks_without_logprobs_from_its_first_batch_when_the_server_refused_them(
        batch_client: Any, tmp_path: Path) -> None:
    run_file = tmp_path / "run.sqlite"
    with MockOpenAIServer(reply_fn=lambda body: "yes", reject_logprobs=True) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.store = BatchStore(run_file)
        assert all(isinstance(r, LLMResult) for r in asyncio.run(ask(client, range(3))))
        assert [asked_logprobs(server, b) for b in wrapper.submitted] == [{True}, {False}]
        wrapper.store.close()
        again, rerun, _ = batch_client(server)
        rerun.store = BatchStore(run_file)
        results = asyncio.run(ask(again, range(3, 6)))  # new questions: nothing to answer from the file
        assert all(isinstance(r, LLMResult) and r.logprobs is None for r in results)
        assert [asked_logprobs(server, b) for b in rerun.submitted] == [{False}]
        assert again.gives_logprobs is False
        rerun.store.close()


def test_facts_are_kept_per_server_only_once_something_was_refused(batch_client: Any, tmp_path: Path) -> None:
    run_file = tmp_path / "run.sqlite"
    with MockOpenAIServer(reply_fn=talk) as server:
        client, wrapper, _ = batch_client(server)
        wrapper.store = store = BatchStore(run_file)
        world_of(client, 2).run(1, batch=True)
        assert store.server_facts(server_key(wrapper.backend)) is None  # nothing refused: nothing kept
        # another model's (or server's) refusal is not this one's
        url = server.base_url
        other = OpenAIBackend(model="another", base_url=url, api_key="k")
        store.keep_server_facts(server_key(other), ServerFacts(structured_mode="prompt").model_dump_json())
        store.close()
    mine = OpenAIBackend(model="m", base_url=url, api_key="k")
    store = BatchStore(run_file)
    FactKeeper().restore(store, mine)
    assert mine.structured_mode == "json_schema"
    store.close()


def test_a_form_the_user_chose_is_never_changed_and_a_run_with_one_leaves_the_facts_as_they_were(
        tmp_path: Path) -> None:
    store = BatchStore(tmp_path / "run.sqlite")
    auto = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    auto._auto_mode = "json_object"
    FactKeeper().keep(store, auto)
    chosen = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k", structured_output="json_schema")
    keeper = FactKeeper()
    keeper.restore(store, chosen)
    assert learned(chosen).structured_mode is None and chosen.structured_mode == "json_schema"
    keeper.keep(store, chosen)  # this run learned no form: the stored one stays
    kept = ServerFacts.model_validate_json(store.server_facts(server_key(chosen)) or "")
    assert kept.structured_mode == "json_object"
    store.close()


def test_facts_only_narrow() -> None:
    auto = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    auto._auto_mode = "tools"  # found out in this run already: an older fact does not widen it again
    adopt(auto, ServerFacts(structured_mode="json_object"))
    assert auto.structured_mode == "tools"
    # logprobs: a refusal is adopted only where this run does not know yet; being given is never kept,
    # so a later run still notices a server that stopped giving them
    fresh = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    fresh._logprobs = True
    adopt(fresh, ServerFacts(logprobs_refused=True))
    assert fresh.gives_logprobs is True
    assert learned(fresh) == ServerFacts()
    assert learned(fresh, ServerFacts(logprobs_refused=True)) == ServerFacts()  # given now: the refusal is old


def test_unreadable_facts_are_logged_once_and_the_run_asks_as_a_new_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run_file = tmp_path / "run.sqlite"
    backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    store = BatchStore(run_file)
    store.keep_server_facts(server_key(backend), '{"structured_mode": "carrier pigeon"}')
    keeper = FactKeeper()
    with caplog.at_level(logging.WARNING, logger="tinytroupe.llm.server_facts"):
        keeper.restore(store, backend)
        keeper.restore(store, backend)  # once per keeper
    assert backend.structured_mode == "json_schema"
    assert len([r for r in caplog.records if "could not be read" in r.getMessage()]) == 1
    # what this run learns replaces the damaged row
    backend._auto_mode = "json_object"
    keeper.keep(store, backend)
    assert ServerFacts.model_validate_json(store.server_facts(server_key(backend)) or "") == \
        ServerFacts(structured_mode="json_object")
    store.close()
    with sqlite3.connect(run_file) as conn:
        assert conn.execute("SELECT COUNT(*) FROM llm_server_facts").fetchone() == (1,)
    # a store that can no longer be written: warned, never raised into the run
    keeper = FactKeeper()
    backend._auto_mode = "tools"
    with caplog.at_level(logging.WARNING, logger="tinytroupe.llm.server_facts"):
        keeper.keep(store, backend)  # the store is closed
    assert any("could not be kept" in r.getMessage() for r in caplog.records)
