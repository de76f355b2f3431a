"""Distributional answers: option probabilities from log-probabilities or sampled answers, for one agent,
a weighted population and the no-persona baseline; the LLM layer underneath (request keys, the cache,
the OpenAI-compatible backend and the mock server's log-probabilities)."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tinytroupe import control
from tinytroupe.agent import DistributionAnswer, TinyPerson
from tinytroupe.agent.distribution import DEFAULT_SAMPLES, ask_options
from tinytroupe.devtools.mock_openai_server import MockFailure, MockOpenAIServer
from tinytroupe.devtools.mock_openai_server.logprobs import answer_logprobs
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import (
    ExtractionError,
    InvalidArgument,
    InvalidArgumentType,
    LLMOutputError,
    LLMTransportError,
)
from tinytroupe.extraction import ask_distribution_baseline, ask_population_distribution
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.cache import CacheWrapper, ResponseCache
from tinytroupe.llm.logprobs import label_scores, parse_openai_logprobs
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.types import CallContext, Completion, FirstTokenLogprobs, Message, TokenLogprob

F = FirstTokenLogprobs.from_probabilities
OPTIONS = ["Car", "Bicycle", "Bus"]
QUESTION = "How do you get to work?"
_NAME = re.compile(r"^Name: (.+)$", re.M)


def name_in(request: LLMRequest) -> str:
    """The persona name in a distribution prompt's system message."""
    return _NAME.findall(request.messages[0].content)[0]


def scripted(table: dict[str, Any], **kwargs: Any) -> ScriptedBackend:
    """A backend answering each agent (by persona name) with its entry: probabilities or a reply."""
    def reply(request: LLMRequest) -> Any:
        entry = table[name_in(request)]
        if isinstance(entry, Exception):
            raise entry
        return F(entry) if request.logprob_labels and isinstance(entry, dict) and "answer" not in entry else entry
    return ScriptedBackend(reply, **kwargs)


# ---------------------------------------------------------------------------------- the llm layer

def test_label_scores_add_up_the_tokens_of_each_label_and_say_the_mass_on_labels() -> None:
    seen = FirstTokenLogprobs(alternatives=[
        TokenLogprob(token="A", logprob=math.log(0.4)), TokenLogprob(token=" A", logprob=math.log(0.2)),
        TokenLogprob(token="(B", logprob=math.log(0.2)), TokenLogprob(token="The", logprob=math.log(0.2)),
        TokenLogprob(token="A", logprob=math.log(0.4))])  # listed twice by a server: counted once
    scores = label_scores(seen, ["A", "B", "C"])
    assert scores is not None
    assert scores.probabilities == pytest.approx({"A": 0.75, "B": 0.25, "C": 0.0})
    assert scores.mass == pytest.approx(0.8) and not scores.exact
    assert label_scores(F({"The": 0.9, "I": 0.1}), ["A", "B"]) is None
    assert label_scores(None, ["A", "B"]) is None


def test_openai_logprobs_are_read_from_the_first_token_that_means_something() -> None:
    choice = {"logprobs": {"content": [
        {"token": " ", "logprob": -0.01, "top_logprobs": []},
        {"token": "B", "logprob": -0.2, "top_logprobs": [{"token": "B", "logprob": -0.2},
                                                          {"token": "A", "logprob": -1.9},
                                                          {"token": "C", "logprob": "nan?"},
                                                          {"logprob": -3.0}]}]}}
    parsed = parse_openai_logprobs(choice)
    assert parsed is not None and [a.token for a in parsed.alternatives] == ["B", "A"]
    only_chosen = parse_openai_logprobs({"logprobs": {"content": [{"token": "A", "logprob": 1e-9}]}})
    assert only_chosen is not None and only_chosen.alternatives == [TokenLogprob(token="A", logprob=0.0)]
    assert parse_openai_logprobs({"logprobs": None}) is None
    assert parse_openai_logprobs({"logprobs": {"content": None}}) is None


def test_request_keys_without_labels_are_unchanged_and_labels_change_the_key() -> None:
    plain = LLMRequest(messages=(Message(role="user", content="hi"),))
    assert "logprob_labels" not in plain.canonical_json() and "logprob_labels" not in plain.model_dump()
    ab = LLMRequest(messages=plain.messages, logprob_labels=("A", "B"))
    abc = LLMRequest(messages=plain.messages, logprob_labels=("A", "B", "C"))
    assert len({plain.cache_key(), ab.cache_key(), abc.cache_key()}) == 3
    assert '"logprob_labels":["A","B"]' in ab.canonical_json()


async def test_a_cached_answer_keeps_its_logprobs(tmp_path: Path) -> None:
    inner = ScriptedBackend([F({"A": 0.6, "B": 0.4})], logprobs=True)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    wrapper = CacheWrapper(inner, cache)
    request = LLMRequest(messages=(Message(role="user", content="A or B?"),), logprob_labels=("A", "B"))
    first = await wrapper.generate(request, CallContext())
    again = await CacheWrapper(ScriptedBackend([]), ResponseCache(tmp_path / "cache.sqlite")).generate(
        request, CallContext())
    assert again.cached and again.logprobs == first.logprobs and first.logprobs is not None
    assert wrapper.gives_logprobs is True
    await wrapper.aclose()


async def test_openai_backend_asks_for_top_logprobs_and_reads_them() -> None:
    with MockOpenAIServer() as server:
        backend = OpenAIBackend(model="m", base_url=server.base_url, api_key="k")
        assert backend.gives_logprobs is None, "not known before the server answered"
        request = LLMRequest(messages=(Message(role="user", content="Pick:\nA. tea\nB. coffee"),),
                             logprob_labels=("A", "B"), max_tokens=3)
        completion = await backend.generate(request, CallContext())
        plain = await backend.generate(LLMRequest(messages=request.messages), CallContext())
        await backend.aclose()
        sent = server.chat_requests()
    assert sent[0]["logprobs"] is True and sent[0]["top_logprobs"] == 20
    assert "logprobs" not in sent[1] and plain.logprobs is None
    scores = label_scores(completion.logprobs, ["A", "B"])
    assert scores is not None and scores.mass > 0.85 and completion.text in ("A", "B")
    assert backend.gives_logprobs is True


async def test_a_server_without_logprobs_is_remembered_so_callers_sample() -> None:
    with MockOpenAIServer(logprobs=False) as server:
        backend = OpenAIBackend(model="m", base_url=server.base_url, api_key="k")
        request = LLMRequest(messages=(Message(role="user", content="A. x\nB. y"),), logprob_labels=("A", "B"))
        completion = await backend.generate(request, CallContext())
        await backend.aclose()
    assert completion.logprobs is None and backend.gives_logprobs is False


async def test_a_server_refusing_logprobs_is_asked_again_without_them() -> None:
    with MockOpenAIServer(failures=[MockFailure(status=400, message="logprobs are not supported")]) as server:
        backend = OpenAIBackend(model="m", base_url=server.base_url, api_key="k")
        request = LLMRequest(messages=(Message(role="user", content="A. x\nB. y"),), logprob_labels=("A", "B"))
        completion = await backend.generate(request, CallContext())
        await backend.aclose()
        sent = server.chat_requests()
    assert [("logprobs" in body) for body in sent] == [True, False]
    assert completion.logprobs is None and backend.gives_logprobs is False


def test_mock_server_logprobs_are_deterministic_per_prompt_and_spread_over_the_labels() -> None:
    body = {"messages": [{"role": "user", "content": "Q?\nA. one\nB. two\nC. three"}], "top_logprobs": 20}
    text, block = answer_logprobs(body, "mock", scripted=False)
    assert (text, block) == answer_logprobs(body, "mock", scripted=False)
    other = {"messages": [{"role": "user", "content": "R?\nA. one\nB. two\nC. three"}], "top_logprobs": 20}
    assert answer_logprobs(other, "mock", scripted=False)[1] != block
    top = {t["token"]: math.exp(t["logprob"]) for t in block["content"][0]["top_logprobs"]}
    assert {"A", "B", "C"} <= set(top) and sum(top.values()) == pytest.approx(1.0)
    assert text == max(("A", "B", "C"), key=top.__getitem__)
    assert answer_logprobs(body, "scripted answer", scripted=True)[0] == "scripted answer"


# ---------------------------------------------------------------------------------- one agent

def test_an_agent_answers_from_logprobs_in_one_call_with_its_persona_and_recent_events() -> None:
    backend = ScriptedBackend([F({" A": 0.5, "B": 0.3, "C": 0.1, "The": 0.1})], logprobs=True)
    ana = TinyPerson("Ana", client=LLMClient(backend), persona={"occupation": {"title": "nurse"}})
    ana.listen("The bus fare doubles next month.", source="Ben")
    answer = ana.ask_distribution(QUESTION, OPTIONS)
    assert answer.method == "logprobs" and answer.calls == 1 and backend.calls == 1
    assert answer.probabilities == pytest.approx({"Car": 5 / 9, "Bicycle": 3 / 9, "Bus": 1 / 9})
    assert answer.mass_on_options == pytest.approx(0.9) and answer.fallback_reason is None
    assert answer.agent == "Ana" and answer.most_likely == "Car" and answer.labels == ["A", "B", "C"]
    request = backend.requests[0]
    assert request.logprob_labels == ("A", "B", "C")
    system, user = request.messages[0].content, request.messages[1].content
    assert "Name: Ana" in system and "nurse" in system
    assert "The bus fare doubles next month." in user and "A. Car\nB. Bicycle\nC. Bus" in user
    assert backend.contexts[0].purpose == "distribution" and backend.contexts[0].agent == "Ana"
    assert ana.memory.recent(5)[-1].content == "The bus fare doubles next month.", "asking remembers nothing"


def test_a_backend_without_logprobs_is_sampled_with_a_seed_per_sample() -> None:
    replies = [{"answer": "A"}, {"answer": "B"}, {"answer": "A"}, {"answer": "C"}]
    backend = ScriptedBackend(replies, cycle=True)
    answer = TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(QUESTION, OPTIONS, samples=8)
    assert answer.method == "sampled" and answer.samples == 8 and answer.calls == 8 and backend.calls == 8
    assert answer.counts == {"Car": 4, "Bicycle": 2, "Bus": 2}
    assert answer.probabilities == {"Car": 0.5, "Bicycle": 0.25, "Bus": 0.25}
    assert answer.fallback_reason == "the scripted backend gives no log-probabilities"
    assert len({r.seed for r in backend.requests}) == 8 and {r.temperature for r in backend.requests} == {1.0}
    assert all(r.logprob_labels is None for r in backend.requests)
    default = TinyPerson("Bo", client=LLMClient(ScriptedBackend(replies, cycle=True))).ask_distribution(
        QUESTION, OPTIONS)
    assert default.samples == DEFAULT_SAMPLES


def test_probabilities_off_the_labels_fall_back_to_sampling_and_say_so() -> None:
    backend = ScriptedBackend([F({"The": 0.9, "A": 0.06, "B": 0.04}), {"answer": "B"}], cycle=True, logprobs=True)
    answer = TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(QUESTION, OPTIONS, samples=3)
    assert answer.method == "sampled" and answer.calls == 4
    assert answer.fallback_reason is not None and "10.0% of the first token's probability" in answer.fallback_reason
    # a lower bar takes the same numbers
    low = ScriptedBackend([F({"The": 0.9, "A": 0.06, "B": 0.04})], logprobs=True)
    taken = TinyPerson("Bo", client=LLMClient(low)).ask_distribution(QUESTION, OPTIONS, min_mass=0.05)
    assert taken.method == "logprobs" and taken.probabilities["Car"] == pytest.approx(0.6)


def test_exactly_scored_labels_are_used_whatever_their_mass() -> None:
    backend = ScriptedBackend([F({"#": 0.97, " A": 0.02, " B": 0.01}, exact=True)], logprobs=True)
    answer = TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(QUESTION, OPTIONS)
    assert answer.method == "logprobs" and answer.mass_on_options == pytest.approx(0.03)
    assert answer.probabilities == pytest.approx({"Car": 2 / 3, "Bicycle": 1 / 3, "Bus": 0.0})


def test_a_server_that_gives_none_falls_back_and_says_so() -> None:
    backend = ScriptedBackend(["A", {"answer": "C"}], cycle=True, logprobs=True)  # text without logprobs
    answer = TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(QUESTION, OPTIONS, samples=2)
    assert answer.method == "sampled" and answer.fallback_reason == "the model 'scripted' gave no log-probabilities"
    assert answer.probabilities["Bus"] == 1.0


def test_method_logprobs_raises_instead_of_sampling() -> None:
    backend = ScriptedBackend(["I think A"], logprobs=True)
    with pytest.raises(LLMOutputError, match="no usable option probabilities") as caught:
        TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(QUESTION, OPTIONS, method="logprobs")
    assert caught.value.raw_text == "I think A" and caught.value.agent == "Ana"
    never = ScriptedBackend([])
    with pytest.raises(InvalidArgument, match="gives no log-probabilities"):
        TinyPerson("Bo", client=LLMClient(never)).ask_distribution(QUESTION, OPTIONS, method="logprobs")
    assert never.calls == 0


def test_method_sampled_never_asks_for_logprobs() -> None:
    backend = ScriptedBackend([{"answer": "A"}], cycle=True, logprobs=True)
    answer = TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(QUESTION, OPTIONS, method="sampled",
                                                                           samples=2)
    assert answer.method == "sampled" and answer.fallback_reason is None and backend.calls == 2


def test_a_sampled_answer_outside_the_letters_is_reasked_then_raised_with_the_raw_text() -> None:
    backend = ScriptedBackend([{"answer": "Z"}], cycle=True)
    with pytest.raises(LLMOutputError) as caught:
        TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(QUESTION, OPTIONS, samples=1)
    assert '"Z"' in caught.value.raw_text and backend.calls == 3  # the answer and two re-asks


@pytest.mark.parametrize(("question", "options", "kwargs", "error", "match"), [
    (QUESTION, [], {}, InvalidArgument, "at least two options"),
    (QUESTION, ["Yes"], {}, InvalidArgument, "at least two options"),
    (QUESTION, ["Yes", " yes "], {}, InvalidArgument, "option 1 .* repeats option 0"),
    (QUESTION, ["Yes", "  "], {}, InvalidArgument, "option 1 is empty"),
    (QUESTION, [f"o{i}" for i in range(27)], {}, InvalidArgument, "27 options, but only 26 labels"),
    (QUESTION, "Yes/No", {}, InvalidArgumentType, "list of strings"),
    (QUESTION, ["Yes", 2], {}, InvalidArgumentType, "option 1 must be a string"),
    ("  ", ["Yes", "No"], {}, InvalidArgument, "question is empty"),
    (QUESTION, ["Yes", "No"], {"samples": 0}, InvalidArgument, "samples must be"),
    (QUESTION, ["Yes", "No"], {"min_mass": 1.5}, InvalidArgument, "min_mass"),
    (QUESTION, ["Yes", "No"], {"temperature": -1}, InvalidArgument, "temperature"),
    (QUESTION, ["Yes", "No"], {"method": "vote"}, InvalidArgument, "method must be"),
])
def test_bad_input_is_refused_before_any_call(question: Any, options: Any, kwargs: dict[str, Any],
                                              error: type[Exception], match: str) -> None:
    backend = ScriptedBackend([], logprobs=True)
    with pytest.raises(error, match=match):
        TinyPerson("Ana", client=LLMClient(backend)).ask_distribution(question, options, **kwargs)
    assert backend.calls == 0


def test_answers_are_validated_distributions() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        DistributionAnswer(question="q", options=["a", "b"], labels=["A", "B"], method="sampled",
                           probabilities={"a": 0.5, "b": 0.6})
    with pytest.raises(ValueError, match="one entry per option"):
        DistributionAnswer(question="q", options=["a", "b"], labels=["A", "B"], method="sampled",
                           probabilities={"b": 0.5, "a": 0.5})


def test_a_run_file_caches_and_replays_distribution_calls(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"

    def ask(backend: ScriptedBackend) -> list[DistributionAnswer]:
        with control.Simulation(path, backend=backend, quiet=True, seed=5):
            ana, bo = TinyPerson("Ana"), TinyPerson("Bo")
            return [ana.ask_distribution(QUESTION, OPTIONS), bo.ask_distribution(QUESTION, OPTIONS, samples=3)]

    first = ask(scripted({"Ana": {"A": 0.2, "B": 0.8}, "Bo": {"answer": "C"}}, logprobs=True))
    backend2 = scripted({}, logprobs=True)  # would fail: every answer must come from the run file
    again = ask(backend2)
    assert backend2.calls == 0 and again == first
    assert first[0].method == "logprobs" and first[1].method == "sampled"


# ---------------------------------------------------------------------------------- a population

def people(client: LLMClient, *cells: tuple[str, str]) -> list[TinyPerson]:
    return [TinyPerson(name, client=client, persona={"segment": cell}) for name, cell in cells]


def test_a_population_is_asked_at_once_and_averaged() -> None:
    inflight, peak = 0, 0

    async def reply(request: LLMRequest) -> Any:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.05)
        inflight -= 1
        return F({"A": 0.8, "B": 0.2} if name_in(request) == "Ana" else {"A": 0.2, "B": 0.6, "C": 0.2})

    client = LLMClient(ScriptedBackend(reply, logprobs=True))
    panel = ask_population_distribution(people(client, ("Ana", "x"), ("Bo", "y"), ("Cy", "y")), QUESTION, OPTIONS)
    assert peak == 3, "every agent's call is in flight at once"
    assert panel.probabilities == pytest.approx({"Car": 1.2 / 3, "Bicycle": 1.4 / 3, "Bus": 0.4 / 3})
    assert panel.weights == pytest.approx({"Ana": 1 / 3, "Bo": 1 / 3, "Cy": 1 / 3})
    assert panel.methods == {"logprobs": 3} and panel.effective_sample_size == pytest.approx(3.0)
    assert sum(panel.probabilities.values()) == pytest.approx(1.0)


def test_weights_by_agent_and_by_cell() -> None:
    table = {"Ana": {"A": 1.0}, "Bo": {"B": 1.0}, "Cy": {"C": 1.0}}
    client = LLMClient(scripted(table, logprobs=True))
    crowd = people(client, ("Ana", "city"), ("Bo", "rural"), ("Cy", "rural"))
    by_agent = ask_population_distribution(crowd, QUESTION, OPTIONS, weights={"Ana": 2, "Bo": 1, "Cy": 1})
    assert by_agent.probabilities == pytest.approx({"Car": 0.5, "Bicycle": 0.25, "Bus": 0.25})
    by_cell = ask_population_distribution(crowd, QUESTION, OPTIONS, cell="segment",
                                          cell_shares={"city": 0.8, "rural": 0.2, "coast": 0.0})
    assert by_cell.probabilities == pytest.approx({"Car": 0.8, "Bicycle": 0.1, "Bus": 0.1})
    assert by_cell.cells == {"Ana": "city", "Bo": "rural", "Cy": "rural"} and by_cell.cells_without_answers == []
    assert by_cell.effective_sample_size == pytest.approx(1.0 / (0.8**2 + 2 * 0.1**2))
    equal_cells = ask_population_distribution(crowd, QUESTION, OPTIONS, cell="segment")
    assert equal_cells.probabilities == pytest.approx({"Car": 0.5, "Bicycle": 0.25, "Bus": 0.25})


def test_a_failed_agent_is_listed_and_contributes_nothing_while_the_others_are_kept() -> None:
    table = {"Ana": {"A": 1.0}, "Bo": LLMTransportError("server down"), "Cy": {"C": 1.0}, "Di": {"B": 1.0}}
    client = LLMClient(scripted(table, logprobs=True))
    crowd = people(client, ("Ana", "city"), ("Bo", "rural"), ("Cy", "rural"), ("Di", "coast"))
    panel = ask_population_distribution(crowd, QUESTION, OPTIONS, cell="segment",
                                        cell_shares={"city": 0.5, "rural": 0.3, "coast": 0.2})
    assert list(panel.answers) == ["Ana", "Cy", "Di"]
    assert panel.failures == {"Bo": "LLMTransportError: server down"}
    # Bo's cell keeps its share: Cy carries it alone
    assert panel.probabilities == pytest.approx({"Car": 0.5, "Bicycle": 0.2, "Bus": 0.3})
    frame = panel.to_dataframe()
    assert list(frame["agent"]) == ["Ana", "Cy", "Di", "Bo"]
    assert list(frame["status"]) == ["ok", "ok", "ok", "failed"] and math.isnan(frame.loc[3, "Car"])
    only_rural = ask_population_distribution(crowd[:3], QUESTION, OPTIONS, cell="segment",
                                             cell_shares={"city": 0.0, "rural": 1.0})
    assert only_rural.probabilities == pytest.approx({"Car": 0.0, "Bicycle": 0.0, "Bus": 1.0})
    lost_cell = ask_population_distribution(crowd[:2], QUESTION, OPTIONS, cell="segment",
                                            cell_shares={"city": 0.5, "rural": 0.5})
    assert lost_cell.cells_without_answers == ["rural"] and lost_cell.probabilities["Car"] == 1.0


def test_no_answer_at_all_raises_with_every_failure() -> None:
    client = LLMClient(scripted({"Ana": LLMTransportError("down"), "Bo": LLMTransportError("down")}, logprobs=True))
    with pytest.raises(ExtractionError) as caught:
        ask_population_distribution(people(client, ("Ana", "x"), ("Bo", "x")), QUESTION, OPTIONS)
    assert set(caught.value.failures) == {"Ana", "Bo"}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"weights": {"Ana": 1}}, r"missing \['Bo'\]"),
    ({"weights": {"Ana": 1, "Bo": 1, "Zed": 1}}, r"not asked \['Zed'\]"),
    ({"weights": {"Ana": -1, "Bo": 1}}, "at least 0"),
    ({"weights": {"Ana": math.inf, "Bo": 1}}, "finite"),
    ({"weights": {"Ana": 0, "Bo": 0}}, "every weight of agent is 0"),
    ({"weights": {"Ana": 1, "Bo": 1}, "cell": "segment"}, "not both"),
    ({"cell_shares": {"x": 1}}, "needs cell="),
    ({"cell": "age"}, "no persona field 'age'"),
    ({"cell": "segment", "cell_shares": {"x": 1}}, r"no share for the cell\(s\) \['y'\]"),
    ({"samples": 0}, "samples must be"),
])
def test_bad_weights_are_refused_before_any_call(kwargs: dict[str, Any], match: str) -> None:
    backend = ScriptedBackend([], logprobs=True)
    crowd = people(LLMClient(backend), ("Ana", "x"), ("Bo", "y"))
    with pytest.raises(InvalidArgument, match=match):
        ask_population_distribution(crowd, QUESTION, OPTIONS, **kwargs)
    assert backend.calls == 0


def test_bad_population_arguments() -> None:
    with pytest.raises(InvalidArgument, match="no agents"):
        ask_population_distribution([], QUESTION, OPTIONS)
    with pytest.raises(InvalidArgumentType, match="TinyPerson"):
        ask_population_distribution(["Ana"], QUESTION, OPTIONS)  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="at least two options"):
        ask_population_distribution([TinyPerson("Ana")], QUESTION, [])


def test_a_world_is_asked_and_namesakes_are_kept_apart() -> None:
    client = LLMClient(scripted({"Ana": {"A": 1.0}, "Bo": {"B": 1.0}}, logprobs=True))
    world = TinyWorld("Town", [TinyPerson("Ana", client=client), TinyPerson("Bo", client=client)])
    panel = ask_population_distribution(world, QUESTION, OPTIONS)
    assert list(panel.answers) == ["Ana", "Bo"]
    assert panel.probabilities == pytest.approx({"Car": 0.5, "Bicycle": 0.5, "Bus": 0.0})
    twins = LLMClient(ScriptedBackend([F({"A": 1.0}), F({"B": 1.0})], logprobs=True))
    namesakes = ask_population_distribution([TinyPerson("Ana", client=twins), TinyPerson("Ana", client=twins)],
                                            QUESTION, OPTIONS, weights={"Ana": 3, "Ana (2)": 1})
    assert list(namesakes.answers) == ["Ana", "Ana (2)"]
    assert namesakes.probabilities == pytest.approx({"Car": 0.75, "Bicycle": 0.25, "Bus": 0.0})


def test_the_baseline_asks_with_no_persona() -> None:
    backend = ScriptedBackend([F({"A": 0.3, "C": 0.7})], logprobs=True)
    answer = ask_distribution_baseline(LLMClient(backend), QUESTION, OPTIONS,
                                       population_description="adults in Porto")
    assert answer.agent is None and answer.probabilities == pytest.approx({"Car": 0.3, "Bicycle": 0.0, "Bus": 0.7})
    system = backend.requests[0].messages[0].content
    assert "typical member of this population: adults in Porto" in system and "Who you are" not in system
    plain = ScriptedBackend([F({"A": 1.0})], logprobs=True)
    ask_distribution_baseline(LLMClient(plain), QUESTION, OPTIONS)
    assert "typical respondent" in plain.requests[0].messages[0].content
    with pytest.raises(InvalidArgument, match="at least two options"):
        ask_options(LLMClient(plain), QUESTION, ["only"])


def test_an_agent_against_the_mock_server_end_to_end() -> None:
    for logprobs in (True, False):
        with MockOpenAIServer(logprobs=logprobs) as server:
            client = LLMClient(OpenAIBackend(model="m", base_url=server.base_url, api_key="k"))
            ana = TinyPerson("Ana", client=client)
            first = ana.ask_distribution(QUESTION, OPTIONS, samples=3)
            second = ana.ask_distribution(QUESTION, OPTIONS, samples=3)
            client.close()
        if logprobs:
            assert first.method == second.method == "logprobs" and first.calls == 1
            assert first.probabilities == second.probabilities and first.mass_on_options > 0.85
        else:
            assert (first.method, first.calls) == ("sampled", 4)  # tried once, then sampled
            assert (second.method, second.calls) == ("sampled", 3)  # remembered: straight to samples
            assert second.fallback_reason == "the openai backend gives no log-probabilities"


def test_a_population_on_a_server_without_logprobs_wastes_one_call_not_one_per_agent() -> None:
    for logprobs, expected in ((True, 5), (False, 1 + 5 * 2)):
        with MockOpenAIServer(logprobs=logprobs) as server:
            client = LLMClient(OpenAIBackend(model="m", base_url=server.base_url, api_key="k"))
            crowd = [TinyPerson(f"P{i}", client=client) for i in range(5)]
            assert client.gives_logprobs is None
            panel = ask_population_distribution(crowd, QUESTION, OPTIONS, samples=2)
            client.close()
            assert len(server.chat_requests()) == expected
        assert panel.methods == ({"logprobs": 5} if logprobs else {"sampled": 5})
        assert client.gives_logprobs is logprobs


def test_completion_logprobs_survive_json() -> None:
    completion = Completion(text="A", model="m", logprobs=F({"A": 0.9, "B": 0.1}))
    assert Completion.model_validate_json(completion.model_dump_json()) == completion
    with pytest.raises(ValueError):
        TokenLogprob(token="A", logprob=-math.inf)
