"""TinyStory, TinyEnricher and TinyStyler on scripted backends: TinyTroupe's signatures, what the model is
shown, and answers that are empty or cut off (re-asked, then a typed error with the raw text)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import START, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.context import RunContext, using_context
from tinytroupe.enrichment import TinyEnricher, TinyStyler
from tinytroupe.enrichment.transform import CONTEXT_ITEMS_SHOWN, MAX_CONTEXT_CACHE
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, LLMOutputError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.llm.types import Completion
from tinytroupe.steering import Intervention, TinyStory
from tinytroupe.steering import trajectory as trajectory_module


def scripted(*replies: Any) -> tuple[LLMClient, ScriptedBackend]:
    backend = ScriptedBackend(list(replies))
    return LLMClient(backend), backend


def user_text(request: LLMRequest) -> str:
    return next(m.content for m in request.messages if m.role == "user")


def office(client: LLMClient) -> TinyWorld:
    ana, ben = TinyPerson("Ana", client=client), TinyPerson("Ben", client=client)
    world = TinyWorld("Office", [ana, ben], START, client=client, communication_display=False)
    ana.listen("The printer is broken again.", source="Ben")
    return world


# ------------------------------------------------------------------------------ TinyStory


def test_story_start_then_continue_shows_purpose_story_so_far_and_trajectory() -> None:
    client, backend = scripted({"text": "Ana and Ben face a broken printer."}, {"text": "A technician arrives."})
    world = office(client)
    # TinyTroupe's positional order: environment, agent, purpose, context, first_n, last_n, include_omission_info
    story = TinyStory(world, None, "Study office frustration.", "It was a Monday.", 10, 20, True)
    start = story.start_story("Start with the printer.", 50, True)
    assert start == "Ana and Ben face a broken printer."
    system, user = backend.requests[0].messages[0].content, user_text(backend.requests[0])
    assert "Study office frustration." in system and "opening" in system
    assert "It was a Monday." in user and 'Ben said: "The printer is broken again."' in user
    assert "Start with the printer." in user and "about 50 words" in user and "plot twist" in user
    assert backend.requests[0].schema_name == "StoryPassage"
    assert backend.contexts[0].purpose == "story" and backend.contexts[0].world == "Office"

    world.broadcast(start, source="Narrator")
    nxt = story.continue_story(number_of_words=30)
    user = user_text(backend.requests[1])
    assert "Continue the story in an interesting way." in user  # TinyTroupe's default requirement
    assert "Ana and Ben face a broken printer." in user  # the story so far, also heard by the agents
    assert "plot twist" not in user and "next passage" in backend.requests[1].messages[0].content
    assert story.current_story.startswith("It was a Monday.")
    assert story.current_story.index(start) < story.current_story.index(nxt)
    assert story.current_story.endswith("A technician arrives.")


def test_story_about_one_agent_uses_its_history_and_window() -> None:
    client, backend = scripted({"text": "Ana decides to fix it herself."})
    ana = TinyPerson("Ana", client=client)
    for i in range(8):
        ana.listen(f"message {i}", source="Ben")
    story = TinyStory(agent=ana, first_n=1, last_n=2, include_omission_info=False)
    assert story.continue_story() == "Ana decides to fix it herself."
    user = user_text(backend.requests[0])
    assert "message 0" in user and "message 7" in user and "message 6" in user
    assert "message 3" not in user and "omitted" not in user
    assert backend.contexts[0].agent == "Ana"


def test_story_needs_exactly_one_subject_and_sane_lengths() -> None:
    client, backend = scripted()
    world = office(client)
    with pytest.raises(InvalidArgument, match="exactly one"):
        TinyStory()
    with pytest.raises(InvalidArgument, match="both"):
        TinyStory(world, world.agents[0])
    with pytest.raises(InvalidArgumentType):
        TinyStory(environment="Office")  # type: ignore[arg-type]
    story = TinyStory(world)
    with pytest.raises(InvalidArgument, match="number_of_words"):
        story.start_story(number_of_words=0)
    with pytest.raises(InvalidArgumentType):
        story.continue_story(number_of_words="100")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="requirements"):
        story.continue_story("  ")
    assert backend.calls == 0  # refused before any call


def test_empty_or_cut_off_passage_is_reasked_then_raised_and_nothing_is_appended() -> None:
    cut = Completion(text='{"text": "Ana looked at the', model="scripted", finish_reason="length")
    client, backend = scripted({"text": "   "}, cut, {"text": ""})
    story = TinyStory(office(client), context="So far.")
    with pytest.raises(LLMOutputError) as err:
        story.continue_story()
    assert backend.calls == 3  # the answer and two re-asks
    assert err.value.raw_text == '{"text": ""}' and err.value.purpose == "story"
    assert story.current_story == "So far."
    reask = backend.requests[1].messages[-1].content
    assert "could not be used" in reask


def test_story_recovers_when_a_reask_succeeds() -> None:
    client, backend = scripted({"text": ""}, {"text": "The lights went out."})
    story = TinyStory(office(client))
    assert story.continue_story() == "The lights went out." and backend.calls == 2


def test_a_long_story_is_shown_within_the_budget_newest_part_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trajectory_module, "PROMPT_CHAR_BUDGET", 3_000)
    client, backend = scripted({"text": "next"})
    old = "\n".join(f"old line {i}" for i in range(2_000))
    story = TinyStory(office(client), context=old + "\nthe newest line")
    story.continue_story()
    user = user_text(backend.requests[0])
    assert "the newest line" in user and "old line 0\n" not in user and "(earlier text omitted)" in user
    assert len(user) < 3_000


def test_story_temperature_goes_to_the_request() -> None:
    client, backend = scripted({"text": "x"})
    TinyStory(office(client), temperature=1.2).start_story()
    assert backend.requests[0].temperature == 1.2


# ------------------------------------------------------------------------------ TinyEnricher / TinyStyler


def test_enricher_signature_prompt_and_temperature() -> None:
    client, backend = scripted({"content": "A long, detailed plan."})
    enricher = TinyEnricher(client=client)
    # TinyTroupe's positional order: requirements, content, content_type, context_info, context_cache, verbose
    out = enricher.enrich_content("Make it five times longer.", "A plan.", "Markdown", "For a bakery.", None, False)
    assert out == "A long, detailed plan."
    system, user = backend.requests[0].messages[0].content, user_text(backend.requests[0])
    assert "enrich" in system
    assert "Make it five times longer." in user and "A plan." in user and "(Markdown)" in user
    assert "For a bakery." in user and "Earlier results" not in user
    assert backend.requests[0].temperature == 1.0 and backend.contexts[0].purpose == "enrichment"
    assert enricher.context_cache == []  # only kept when past results are used


def test_past_results_are_shown_and_the_cache_is_bounded() -> None:
    client, backend = scripted(*({"content": f"result {i}"} for i in range(MAX_CONTEXT_CACHE + 2)))
    enricher = TinyEnricher(use_past_results_in_context=True, client=client)
    for i in range(MAX_CONTEXT_CACHE + 2):
        enricher.enrich_content("Expand.", f"text {i}")
    assert len(enricher.context_cache) == MAX_CONTEXT_CACHE
    assert enricher.context_cache[-1] == f"result {MAX_CONTEXT_CACHE + 1}"
    last = user_text(backend.requests[-1])
    shown = [f"result {MAX_CONTEXT_CACHE - k}" for k in range(CONTEXT_ITEMS_SHOWN)]
    assert all(s in last for s in shown) and f"result {MAX_CONTEXT_CACHE - CONTEXT_ITEMS_SHOWN}" not in last
    # an explicit context_cache wins over the enricher's own
    client2, backend2 = scripted({"content": "x"})
    TinyEnricher(True, client=client2).enrich_content("Expand.", "t", context_cache=["a given earlier result"])
    assert "a given earlier result" in user_text(backend2.requests[0])


def test_enricher_failure_is_a_typed_error_not_none() -> None:
    client, backend = scripted({"content": ""}, {"nothing": 1}, "not json at all")
    with pytest.raises(LLMOutputError) as err:
        TinyEnricher(client=client).enrich_content("Expand.", "Text.")
    assert err.value.raw_text == "not json at all" and backend.calls == 3
    with pytest.raises(InvalidArgument):
        TinyEnricher(client=client).enrich_content("", "Text.")
    with pytest.raises(InvalidArgumentType):
        TinyEnricher(client=client).enrich_content("Expand.", None)  # type: ignore[arg-type]


def test_styler_signature_prompt_cache_and_failure() -> None:
    client, backend = scripted({"content": "Yo, the meeting's at 3."}, {"content": "Yo, lunch at noon."})
    styler = TinyStyler(use_past_results_in_context=True, client=client)
    # TinyTroupe's positional order: content, style, content_type, context_info, context_cache, verbose, temperature
    assert styler.apply_style("The meeting is at 15:00.", "casual", "chat", "", None, False, 0.3) == \
        "Yo, the meeting's at 3."
    user = user_text(backend.requests[0])
    assert "casual" in user and "The meeting is at 15:00." in user and "(chat)" in user
    assert backend.requests[0].temperature == 0.3 and backend.contexts[0].purpose == "styling"
    assert styler.context_cache == [{"original": "The meeting is at 15:00.", "style": "casual",
                                     "styled": "Yo, the meeting's at 3."}]
    styler.apply_style("Lunch is at 12:00.", "casual")
    assert "Yo, the meeting's at 3." in user_text(backend.requests[1])  # the earlier result, for one voice
    assert backend.requests[1].temperature == 0.7  # TinyTroupe's default

    bad, _ = scripted({"content": " "}, {"content": " "}, {"content": " "})
    with pytest.raises(LLMOutputError):  # TinyTroupe returned the original content here
        TinyStyler(client=bad).apply_style("Text.", "formal")


def test_enrichment_uses_the_run_contexts_client_by_default() -> None:
    client, backend = scripted({"content": "from the context"})
    with using_context(RunContext.for_client(client)):
        assert TinyEnricher().enrich_content("Expand.", "x") == "from the context"
    assert backend.calls == 1


def test_intervention_and_story_render_trajectories_alike() -> None:
    def respond(request: LLMRequest) -> Any:
        if request.schema_name in {"PreconditionCheck", "PropositionCheck"}:  # an intervention judges a proposition
            return {"value": True, "justification": "yes", "confidence": 0.9}
        if request.schema_name == "StoryPassage":
            return {"text": "beat"}
        return turn()

    client = LLMClient(ScriptedBackend(respond))
    world = office(client)
    Intervention(world, 10, 20).set_textual_precondition("The printer is broken.").set_effect(lambda w: None).execute()
    TinyStory(world, first_n=10, last_n=20).continue_story()
    backend = client.backend.find(ScriptedBackend)
    assert isinstance(backend, ScriptedBackend)
    judged, told = (user_text(r) for r in backend.requests)
    rendered = world.pretty_current_interactions(first_n=10, last_n=20)
    assert rendered in judged and rendered in told


def test_tinytroupe_import_paths_and_signatures() -> None:
    import inspect

    from tinytroupe.enrichment.tiny_enricher import TinyEnricher as Enricher
    from tinytroupe.enrichment.tiny_styler import TinyStyler as Styler
    from tinytroupe.extraction.normalizer import Normalizer
    from tinytroupe.extraction.results_reducer import ResultsReducer
    from tinytroupe.extraction.results_reporter import ResultsReporter
    from tinytroupe.steering.tiny_story import TinyStory as Story

    def head(fn: Any) -> list[tuple[str, Any]]:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.name != "self" and p.kind is not p.KEYWORD_ONLY]
        return [(p.name, p.default) for p in params]

    empty = inspect.Parameter.empty
    assert head(Story.__init__) == [("environment", None), ("agent", None), ("purpose", "Be a realistic simulation."),
                                    ("context", ""), ("first_n", 10), ("last_n", 20), ("include_omission_info", True)]
    assert head(Story.start_story) == [("requirements", "Start some interesting story about the agents."),
                                       ("number_of_words", 100), ("include_plot_twist", False)]
    assert head(Story.continue_story) == [("requirements", "Continue the story in an interesting way."),
                                          ("number_of_words", 100), ("include_plot_twist", False)]
    assert head(Enricher.__init__) == head(Styler.__init__) == [("use_past_results_in_context", False)]
    assert head(Enricher.enrich_content) == [("requirements", empty), ("content", empty), ("content_type", None),
                                             ("context_info", ""), ("context_cache", None), ("verbose", False)]
    assert head(Styler.apply_style) == [("content", empty), ("style", empty), ("content_type", None),
                                        ("context_info", ""), ("context_cache", None), ("verbose", False),
                                        ("temperature", 0.7)]
    assert head(Normalizer.__init__) == [("elements", empty), ("n", empty), ("verbose", False), ("max_length", None)]
    assert head(ResultsReducer.reduce_agent_to_dataframe) == [("agent", empty), ("column_names", None)]
    assert head(ResultsReporter.__init__) == [
        ("default_reporting_task", "Summarize the key findings, insights, and outcomes from the simulation data."),
        ("verbose", False)]
    assert [n for n, _ in head(ResultsReporter.report_from_agents)] == [
        "agents", "reporting_task", "report_title", "include_agent_summaries", "consolidate_responses", "requirements"]
    assert [n for n, _ in head(ResultsReporter.report_from_interactions)] == [
        "agents", "report_title", "include_agent_summaries", "first_n", "last_n", "max_content_length", "requirements"]
