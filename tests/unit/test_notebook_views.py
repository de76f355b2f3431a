"""Notebook views (``_repr_html_``) of agents, worlds and extraction results, called directly."""

from __future__ import annotations

from datetime import datetime

from tinytroupe import html_views
from tinytroupe.agent import TinyPerson
from tinytroupe.devtools.mock_llm import MockLLM
from tinytroupe.environment import TinyWorld
from tinytroupe.extraction import ResultsExtractor


def _talking_world() -> tuple[TinyWorld, MockLLM]:
    mock = MockLLM()
    mock.respond({"actions": [{"type": "TALK", "content": "Buses <are> late & slow."}],
                  "cognitive_state": {"goals": "get to work", "attention": "the bus", "emotions": "annoyed"}},
                 purpose="action")
    mock.respond({"rating": 3, "reason": "{agent} <hates> queues"}, purpose="extraction")
    with mock.install():
        ana = TinyPerson("Ana").define("age", 34).define("occupation", {"title": "nurse"})
        world = TinyWorld("Bus stop", [ana, TinyPerson("Ben")], initial_datetime=datetime(2025, 1, 6, 8, 30),
                          communication_display=False)
        world.broadcast("How was your commute?")
        world.run(1)
    return world, mock


def test_an_agent_shows_who_they_are_their_state_and_recent_events() -> None:
    world, _ = _talking_world()
    view = world.get_agent_by_name("Ana")._repr_html_()
    assert view.startswith("<div") and view.endswith("</div>")
    assert "Ana, 34, nurse" in view
    assert "<b>goals</b>: get to work" in view and "<b>emotions</b>: annoyed" in view
    assert "Buses &lt;are&gt; late &amp; slow." in view and "<are>" not in view  # escaped
    assert "How was your commute?" in view and "Bus stop" in view
    assert "<b>episodic items</b>: " in view


def test_a_world_shows_its_clock_and_each_agents_last_action() -> None:
    world, _ = _talking_world()
    view = world._repr_html_()
    assert "Bus stop" in view and "2025-01-06 08:30, step 1" in view
    assert view.count("<tr>") == 3  # a header and two agents
    assert "TALK: Buses &lt;are&gt; late &amp; slow." in view


def test_results_show_a_row_per_agent_and_a_column_per_field() -> None:
    world, mock = _talking_world()
    with mock.install():
        results = ResultsExtractor().extract_results_from_agents(world.agents,
                                                                 fields={"rating": "int", "reason": "str"})
    view = results._repr_html_()
    assert view.count("<tr>") == 3 and ">rating</th>" in view and ">reason</th>" in view
    assert "Ana &lt;hates&gt; queues" in view


def test_long_texts_and_many_rows_are_cut() -> None:
    view = html_views.table(["n"], [[i] for i in range(60)], max_rows=5)
    assert view.count("<tr>") == 7 and "… and 55 more" in view
    assert html_views.text("y" * 400).endswith("…") and len(html_views.text("y" * 400)) == html_views.MAX_TEXT + 1
    assert html_views.card("Ana", "", ("Empty", "")).count("margin-top") == 0  # empty sections left out
