"""The LLM client: free text, structured answers, re-asks, and the sync facade."""

from __future__ import annotations

import asyncio

import pytest
from helpers import run_in_threads
from pydantic import BaseModel, Field

from tinytroupe.aio import run_sync
from tinytroupe.errors import LLMOutputError, LLMTransportError
from tinytroupe.events import EventBus, LLMCallEvent
from tinytroupe.llm import LLMClient, LLMRequest, Message, ScriptedBackend, UsageLedger, UsageWrapper
from tinytroupe.llm.tokens import estimate_tokens, tokens_for_chars


class Rating(BaseModel):
    score: int = Field(ge=1, le=10)
    reason: str


USER = [{"role": "user", "content": "Rate the coffee."}]


async def test_free_text() -> None:
    backend = ScriptedBackend(["plain answer"])
    result = await LLMClient(backend).acomplete(USER, temperature=0.2, max_tokens=5, stop=["\n"])
    assert result.value == result.text == "plain answer"
    assert result.attempts == 1 and not result.cached and result.usage.total_tokens > 0
    sent = backend.requests[0]
    assert sent.temperature == 0.2 and sent.max_tokens == 5 and sent.stop == ("\n",)
    assert sent.response_schema is None


async def test_structured_answer_is_validated_and_schema_is_sent() -> None:
    backend = ScriptedBackend([Rating(score=7, reason="strong")])
    result = await LLMClient(backend).acomplete(USER, response_model=Rating, purpose="rating")
    assert result.value == Rating(score=7, reason="strong")
    req = backend.requests[0]
    assert req.schema_name == "Rating" and req.response_schema == Rating.model_json_schema()
    assert req.response_model is Rating
    assert backend.contexts[0].purpose == "rating"


async def test_repairable_answer_needs_no_reask() -> None:
    backend = ScriptedBackend(['```json\n{"score": 4, "reason": "ok",}\n```'])
    result = await LLMClient(backend).acomplete(USER, response_model=Rating)
    assert result.value.score == 4 and backend.calls == 1


async def test_bad_then_good_answer_succeeds_after_one_reask() -> None:
    bad = '{"score": 42, "reason": "too good"}'
    backend = ScriptedBackend([bad, {"score": 9, "reason": "fixed"}])
    result = await LLMClient(backend).acomplete(USER, response_model=Rating)
    assert result.value == Rating(score=9, reason="fixed")
    assert backend.calls == 2 and result.attempts == 2
    # usage adds both answers up
    first_prompt = tokens_for_chars(sum(len(m.content) for m in backend.requests[0].messages))
    second_prompt = tokens_for_chars(sum(len(m.content) for m in backend.requests[1].messages))
    assert result.usage.prompt_tokens == first_prompt + second_prompt
    assert result.usage.completion_tokens == estimate_tokens(bad) + estimate_tokens(result.text)
    # the re-ask shows the model its answer and what was wrong with it
    reask = backend.requests[1].messages
    assert reask[:-2] == backend.requests[0].messages
    assert reask[-2] == Message(role="assistant", content=bad)
    assert reask[-1].role == "user"
    assert "score: Input should be less than or equal to 10" in reask[-1].content
    assert '"reason"' in reask[-1].content  # the schema is repeated


async def test_all_bad_answers_raise_output_error_with_raw_text() -> None:
    backend = ScriptedBackend(["not json", '{"score": "high"}', '{"score": 0, "reason": "meh"}'])
    client = LLMClient(backend, max_reasks=2)
    with pytest.raises(LLMOutputError) as info:
        await client.acomplete(USER, response_model=Rating, purpose="rating", agent="Ana")
    err = info.value
    assert backend.calls == 3 and err.attempts == 3
    assert err.raw_text == '{"score": 0, "reason": "meh"}'
    assert any(e.startswith("score:") for e in err.errors)
    assert not any(e.startswith("reason:") for e in err.errors)  # only what was wrong is listed
    text = str(err)
    assert "Rating" in text and "'rating'" in text and "Ana" in text and "max_reasks" in text
    assert '{"score": 0' in text


async def test_no_reasks_means_one_answer() -> None:
    backend = ScriptedBackend(["nope"])
    with pytest.raises(LLMOutputError) as info:
        await LLMClient(backend, max_reasks=0).acomplete(USER, response_model=Rating)
    assert backend.calls == 1 and info.value.raw_text == "nope" and info.value.errors


async def test_transport_errors_are_not_reasked() -> None:
    backend = ScriptedBackend([LLMTransportError("server down", status_code=503)])
    with pytest.raises(LLMTransportError, match="server down"):
        await LLMClient(backend).acomplete(USER, response_model=Rating)
    assert backend.calls == 1


async def test_too_long_answers_are_reasked() -> None:
    too_long = '{"score": 3, "reason": "' + "x" * 500 + '"}'
    backend = ScriptedBackend([too_long, {"score": 3, "reason": "short"}])
    result = await LLMClient(backend, max_answer_chars=200).acomplete(USER, response_model=Rating)
    assert result.value.reason == "short"
    assert "limit is 200" in backend.requests[1].messages[-1].content


def test_bad_messages_are_refused_clearly() -> None:
    client = LLMClient(ScriptedBackend(["x"]))
    with pytest.raises(TypeError, match="message 0 must be"):
        client.complete(["hello"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="at least one message"):
        client.complete([])


def test_message_objects_go_as_given_and_a_list_mixing_them_with_others_is_still_checked() -> None:
    backend = ScriptedBackend(["x"], cycle=True)
    client = LLMClient(backend)
    given = [Message(role="system", content="s"), Message(role="user", content="u")]
    client.complete(given)
    assert backend.requests[-1].messages == tuple(given)
    client.complete([given[0], {"role": "user", "content": "u"}])
    assert backend.requests[-1].messages == tuple(given)
    with pytest.raises(TypeError, match="message 1 must be"):
        client.complete([given[0], "hello"])  # type: ignore[list-item]


def test_reuses_an_existing_usage_wrapper_and_its_bus() -> None:
    ledger, bus = UsageLedger(), EventBus()
    chain = UsageWrapper(ScriptedBackend(["x"]), bus=bus)
    client = LLMClient(chain, ledger=ledger)
    assert client.ledger is ledger and client.backend is chain and client.bus is bus
    client.complete(USER)
    assert ledger.stats()["total"]["calls"] == 1


def test_usage_is_counted_from_the_bus_once_per_call() -> None:
    """The ledger is a bus subscriber counting its client's calls: a call published on the client's bus
    and on a caller's bus counts once in each bus's ledger, and an event published for it by another
    process (Ray) counts too."""
    client, world_bus = LLMClient(ScriptedBackend(["a", "b"])), EventBus()
    world_usage = UsageLedger()
    world_usage.attach(world_bus)
    client.complete(USER, agent="Ana")
    client.for_caller(world_bus).complete(USER, agent="Ben")
    assert client.get_cost_stats()["total"]["calls"] == 2
    assert world_usage.stats()["total"]["calls"] == 1 and list(world_usage.stats()["by_agent"]) == ["Ben"]
    # a call made elsewhere (a Ray worker) counts once it is published as this client's, as the driver does
    client.bus.publish(LLMCallEvent(model="m", agent="Cy", prompt_tokens=4, completion_tokens=1, client=client.id))
    client.bus.publish(LLMCallEvent(model="m", agent="Dee", prompt_tokens=4, client="another client"))
    assert client.get_cost_stats()["by_agent"]["Cy"]["total_tokens"] == 5
    assert "Dee" not in client.get_cost_stats()["by_agent"]


def test_describe_and_model() -> None:
    client = LLMClient(ScriptedBackend(["x"], model="tiny"))
    assert client.model == "tiny"
    assert client.describe() == {"backend": "scripted", "model": "tiny"}


# -- the sync facade ------------------------------------------------------------------------------


def test_sync_calls_from_many_threads() -> None:
    def respond(request: LLMRequest) -> str:
        return "echo " + request.messages[-1].content

    client = LLMClient(ScriptedBackend(respond, latency_s=0.01))
    results: dict[int, str] = {}

    def call(i: int) -> None:
        results[i] = client.complete([{"role": "user", "content": f"n{i}"}], agent=f"a{i}").value

    assert run_in_threads(call, 16) == []
    assert results == {i: f"echo n{i}" for i in range(16)}
    assert client.get_cost_stats()["total"]["calls"] == 16
    assert len(client.get_cost_stats()["by_agent"]) == 16


def test_sync_call_inside_a_running_event_loop() -> None:
    # Jupyter runs cells inside an event loop; the sync API must still work there.
    client = LLMClient(ScriptedBackend([{"score": 5, "reason": "fine"}, "free"]))

    async def cell() -> tuple[Rating, str]:
        asyncio.get_running_loop()  # we really are inside a loop
        rating = client.complete(USER, response_model=Rating).value
        text = client.complete(USER).value
        return rating, text

    rating, text = asyncio.run(cell())
    assert rating == Rating(score=5, reason="fine") and text == "free"


def test_sync_call_from_the_portal_loop_itself_is_refused() -> None:
    client = LLMClient(ScriptedBackend(["x"]))

    async def misuse() -> object:
        return client.complete(USER)

    with pytest.raises(RuntimeError, match="await its async twin"):
        run_sync(misuse())


def test_sync_errors_propagate_unchanged() -> None:
    client = LLMClient(ScriptedBackend(["bad"]), max_reasks=0)
    with pytest.raises(LLMOutputError) as info:
        client.complete(USER, response_model=Rating)
    assert info.value.raw_text == "bad"

