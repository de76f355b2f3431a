"""ResultsReporter (LLM reports and the summary without one) and Normalizer, on scripted backends:
TinyTroupe's signatures, bounded prompts, one agent's failure kept apart, and malformed answers
re-asked then raised with the raw text."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import agent_of, turn
from rich.console import Console

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import (
    ExtractionError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidState,
    LLMOutputError,
    LLMTransportError,
)
from tinytroupe.extraction import Normalizer, ResultsReporter
from tinytroupe.extraction import normalizer as normalizer_module
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

REPORT = {"report": "# Simulation Report\n\nEveryone likes tea."}


def user_text(request: LLMRequest) -> str:
    return next(m.content for m in request.messages if m.role == "user")


# ------------------------------------------------------------------------------ ResultsReporter


def test_report_from_agents_interviews_everyone_and_keeps_one_failure_apart() -> None:
    def respond(request: LLMRequest) -> Any:
        if request.schema_name == "ReportText":
            return REPORT
        who = agent_of(request)
        if who == "Cy":
            return LLMTransportError("server down")
        return turn(("TALK", f"{who} found the tea great"))

    client = LLMClient(ScriptedBackend(respond))
    agents = [TinyPerson(n, client=client, persona={"age": 30, "occupation": {"title": "baker"}})
              for n in ("Ana", "Ben", "Cy")]
    world = TinyWorld("Tea room", agents, client=client, communication_display=False)
    reporter = ResultsReporter("What did you think of the tea?")
    # TinyTroupe's order: agents, reporting_task, report_title, include_agent_summaries, consolidate, requirements
    report = reporter.report_from_agents(world, None, "Tea report", True, False, "Use a table.")
    assert report == REPORT["report"] and reporter.last_report == report
    backend = client.backend.find(ScriptedBackend)
    assert backend is not None
    prompt = user_text(backend.requests[-1])
    assert "Tea report" in prompt and "What did you think of the tea?" in prompt and "Use a table." in prompt
    assert "Ana found the tea great" in prompt and "Ben found the tea great" in prompt and "baker" in prompt
    assert "Cy: LLMTransportError" in prompt and "section of its own" in prompt
    assert set(reporter.agent_failures) == {"Cy"}
    assert any("What did you think of the tea?" in i.content for i in agents[0].memory.items())


def test_report_from_agents_when_nobody_answers_raises_with_the_failures() -> None:
    client = LLMClient(ScriptedBackend(lambda r: LLMTransportError("down")))
    with pytest.raises(ExtractionError) as err:
        ResultsReporter().report_from_agents([TinyPerson("Ana", client=client)])
    assert set(err.value.failures) == {"Ana"} and err.value.results == {}
    with pytest.raises(InvalidArgumentType):
        ResultsReporter().report_from_agents("Ana")  # type: ignore[arg-type]


def test_report_from_interactions_bounds_each_persons_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from tinytroupe.extraction import results_reporter

    monkeypatch.setattr(results_reporter, "REPORT_CHAR_BUDGET", 2_000)
    backend = ScriptedBackend([REPORT])
    client = LLMClient(backend)
    ana = TinyPerson("Ana", client=client)
    for i in range(200):
        ana.listen(f"long message number {i} " + "blah " * 10, source="Ben")
    ben = TinyPerson("Ben", client=client).listen("Hello there", source="Ana")
    reporter = ResultsReporter(client=client)
    reporter.report_from_interactions([ana, ben], "Talk report", False, None, 150, None, "Be brief.")
    prompt = user_text(backend.requests[0])
    assert "Hello there" in prompt and "(cut:" in prompt and "Who they are" not in prompt
    assert len(prompt) < 4_000 and backend.contexts[0].purpose == "report"


def test_report_from_data_refuses_what_does_not_fit_and_reasks_bad_answers() -> None:
    backend = ScriptedBackend([{"report": ""}, {"wrong": 1}, "# Not JSON"])
    reporter = ResultsReporter(client=LLMClient(backend))
    with pytest.raises(InvalidArgument, match="summarise it first"):
        reporter.report_from_data("x" * 100_000)
    assert backend.calls == 0
    with pytest.raises(LLMOutputError) as err:
        reporter.report_from_data({"ratings": [1, 2, 3]}, "Ratings")
    assert backend.calls == 3 and err.value.raw_text == "# Not JSON" and reporter.last_report is None
    assert '"ratings"' in user_text(backend.requests[0])


def test_display_and_save_report(tmp_path: Path) -> None:
    reporter = ResultsReporter()
    with pytest.raises(InvalidState):
        reporter.save_report(tmp_path / "r.md")
    with pytest.raises(InvalidState):
        reporter.display_report()
    md = reporter.report_summary({"Ana": {"status": "ok", "rating": 7}, "Ben": {"status": "ok", "rating": 9}},
                                 max_rows=1, results_file="results.csv")
    assert "mean 8" in md and "(1 more in the file results.csv)" in md
    reporter.save_report(tmp_path / "r.md")
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == md
    out = io.StringIO()
    reporter.display_report(console=Console(file=out, width=100, color_system=None))
    assert "Results at a glance" in out.getvalue() and "█" in out.getvalue()


# ------------------------------------------------------------------------------ Normalizer


def clusters(*groups: tuple[str, list[int]]) -> dict[str, Any]:
    return {"categories": [{"label": label, "members": members} for label, members in groups]}


ANSWERS = ["too expensive", "battery dies fast", "costs too much", "battery is weak", "pricey"]


def test_normalizer_groups_maps_and_caches() -> None:
    backend = ScriptedBackend([clusters(("price", [1, 3, 5]), ("battery", [2, 4])), {"categories": [2, 1]}])
    norm = Normalizer([*ANSWERS, "pricey"], 2, False, None, client=LLMClient(backend))  # TinyTroupe's order
    assert norm.elements == ANSWERS  # duplicates once, order kept
    assert norm.normalized_mapping() == {"price": ["too expensive", "costs too much", "pricey"],
                                         "battery": ["battery dies fast", "battery is weak"]}
    prompt = user_text(backend.requests[0])
    assert "1. too expensive" in prompt and "5. pricey" in prompt and "at most 2 categories" in prompt
    assert norm.normalize("costs too much") == "price" and backend.calls == 1  # known: no call
    assert norm.normalize(["the charge lasts an hour", "pricey", "way overpriced"]) == ["battery", "price", "price"]
    assert backend.calls == 2 and "1. price\n2. battery" in user_text(backend.requests[1])
    assert "1. the charge lasts an hour\n2. way overpriced" in user_text(backend.requests[1])
    assert norm.normalize("way overpriced") == "price" and backend.calls == 2  # cached


@pytest.mark.parametrize("bad,problem", [
    (clusters(("price", [1, 3]), ("battery", [2, 4])), "missing: [5]"),
    (clusters(("price", [1, 3, 5]), ("battery", [2, 4, 5])), "more than once: [5]"),
    (clusters(("a", [1]), ("b", [2]), ("c", [3, 4, 5])), "give at most 2"),
    (clusters(("price", [1, 3, 5, 9]), ("battery", [2, 4])), "unknown: [9]"),
    (clusters(("price and anything about what things cost", [1, 3, 5]), ("battery", [2, 4])), "at most 12"),
])
def test_bad_groupings_are_reasked_then_raised(bad: dict[str, Any], problem: str) -> None:
    backend = ScriptedBackend([bad, bad, bad])
    with pytest.raises(LLMOutputError) as err:
        Normalizer(ANSWERS, 2, max_length=12, client=LLMClient(backend))
    assert backend.calls == 3 and json.loads(err.value.raw_text) == bad
    assert any(problem in e for e in err.value.errors), err.value.errors
    assert problem in backend.requests[1].messages[-1].content  # the re-ask says what was wrong


def test_a_reask_that_fixes_the_grouping_is_used() -> None:
    good = clusters(("price", [1, 3, 5]), ("battery", [2, 4]))
    backend = ScriptedBackend([clusters(("price", [1])), good])
    assert set(Normalizer(ANSWERS, 2, client=LLMClient(backend)).normalized_mapping()) == {"price", "battery"}


def test_many_elements_go_in_bounded_batches_then_labels_are_merged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(normalizer_module, "BATCH_CHAR_BUDGET", 200)
    items = [f"answer {i:02d} about {'price' if i % 2 else 'battery'}" for i in range(30)]
    batches: list[int] = []

    def respond(request: LLMRequest) -> Any:
        lines = re.findall(r"^(\d+)\. (.*)$", user_text(request), re.M)
        batches.append(len(lines))
        # a batch of answers: split by topic, labelled per batch; a batch of labels: merge by topic
        groups: dict[str, list[int]] = {}
        for number, text in lines:
            topic = "price" if "price" in text else "battery"
            label = f"{topic} (batch {len(batches)})" if text.startswith("answer") else topic
            groups.setdefault(label, []).append(int(number))
        return clusters(*groups.items())

    backend = ScriptedBackend(respond)
    norm = Normalizer(items, 2, client=LLMClient(backend))
    assert backend.calls == len(batches) > 2  # several batches, then a merge round of their labels
    # 30 answers in batches of ~200 characters (each over n items), then their 10 labels the same way
    assert batches == [6, 6, 6, 6, 6, 8, 2]
    assert all(len(user_text(r)) < 600 for r in backend.requests)
    assert norm.normalized_mapping() == {"battery": [i for i in items if "battery" in i],
                                         "price": [i for i in items if "price" in i]}
    assert all(norm.normalize(i) == ("price" if "price" in i else "battery") for i in items)


def test_assignment_answers_are_checked_and_inputs_too() -> None:
    good = clusters(("price", [1, 3, 5]), ("battery", [2, 4]))
    backend = ScriptedBackend([good, {"categories": [1, 2]}, {"categories": [3]}, {"categories": [0]}])
    norm = Normalizer(ANSWERS, 2, client=LLMClient(backend))
    with pytest.raises(LLMOutputError) as err:
        norm.normalize("new one")
    assert "category numbers go from 1 to 2" in " ".join(err.value.errors)  # the last answer's problem
    assert "exactly one per item" in backend.requests[2].messages[-1].content  # the first re-ask's
    assert "new one" not in norm.normalizing_map
    with pytest.raises(InvalidArgumentType):
        norm.normalize(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentType):
        norm.normalize(["ok", 3])  # type: ignore[list-item]
    for bad_elements, bad_n in (("one string", 2), ([], 2), (["a", " "], 2), (["a"], 0), (["a"], True)):
        with pytest.raises((InvalidArgument, InvalidArgumentType)):
            Normalizer(bad_elements, bad_n, client=LLMClient(ScriptedBackend([])))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        Normalizer(["a"], 2, max_length=0, client=LLMClient(ScriptedBackend([])))


async def test_async_twins() -> None:
    backend = ScriptedBackend([clusters(("price", [1, 3, 5]), ("battery", [2, 4])), {"categories": [1]}])
    norm = await Normalizer.acreate(ANSWERS, 2, client=LLMClient(backend))
    assert await norm.anormalize("cheap?") == "price"
