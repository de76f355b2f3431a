"""One turn model for every agent: the people a turn may address travel in the schema and the context."""

from __future__ import annotations

import asyncio

import pytest

from tinytroupe.agent.actions import action_batch_model, action_turn_spec
from tinytroupe.errors import InvalidArgumentType, LLMOutputError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.structured import schema_for

TYPES = ("TALK", "DONE")
ANSWER = '{"actions": [{"type": "TALK", "content": "hi", "target": "Ben"}, {"type": "DONE"}]}'


def test_the_schema_sent_is_the_one_a_class_per_set_had() -> None:
    targets = ("", "Ana", "Ben")
    spec = action_turn_spec(TYPES, 2, targets=targets)
    assert spec.schema == schema_for(action_batch_model(TYPES, 2, targets=targets))
    free = action_turn_spec(TYPES, 2)
    assert free.schema == schema_for(action_batch_model(TYPES, 2)) and free.context is None


async def test_a_name_outside_the_set_is_re_asked_and_never_accepted() -> None:
    spec = action_turn_spec(TYPES, 2, targets=("", "Ana"))
    client = LLMClient(ScriptedBackend([ANSWER], cycle=True), max_reasks=1)
    with pytest.raises(LLMOutputError) as info:
        await client.acomplete([{"role": "user", "content": "go"}], response_model=spec.model,
                               response_schema=spec.schema, validation_context=spec.context)
    assert "Ben" in info.value.raw_text and info.value.attempts == 2


async def test_callers_sharing_one_answer_are_each_checked_against_their_own_people() -> None:
    # Two identical requests in flight at once share one model call; only the first allows Ben.
    spec = action_turn_spec(TYPES, 2)
    seen: list[LLMRequest] = []

    def reply(request: LLMRequest) -> str:
        seen.append(request)
        return ANSWER

    from tinytroupe.llm.cache import CacheWrapper, ResponseCache

    client = LLMClient(CacheWrapper(ScriptedBackend(reply, latency_s=0.05), ResponseCache(":memory:")),
                       max_reasks=0)
    messages = [{"role": "user", "content": "go"}]
    with_ben = client.acomplete(messages, response_model=spec.model, response_schema=spec.schema,
                                validation_context={"targets": ("", "Ana", "Ben")})
    without = client.acomplete(messages, response_model=spec.model, response_schema=spec.schema,
                               validation_context={"targets": ("", "Ana")})
    first, second = await asyncio.gather(with_ben, without, return_exceptions=True)
    assert not isinstance(first, BaseException) and first.value.actions[0].target == "Ben"
    assert isinstance(second, LLMOutputError)


def test_a_context_of_the_wrong_type_is_a_clear_error_not_a_re_ask() -> None:
    spec = action_turn_spec(TYPES, 2)
    client = LLMClient(ScriptedBackend([ANSWER], cycle=True))
    with pytest.raises(InvalidArgumentType, match="tuple of names"):
        client.complete([{"role": "user", "content": "go"}], response_model=spec.model,
                        response_schema=spec.schema, validation_context={"targets": ("", 3)})
    ok = client.complete([{"role": "user", "content": "go"}], response_model=spec.model,
                         response_schema=spec.schema, validation_context={"targets": ["", "Ben"]})
    assert ok.value.actions[0].target == "Ben"
