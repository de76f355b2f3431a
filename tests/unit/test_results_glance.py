"""Results at a glance: the summary's figures checked against pandas and numpy on known data, segments,
failed rows, the per-agent table cut to its first rows (the files keep them all), and the
ResultsReducer's rule-based rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidArgumentType, NotFound
from tinytroupe.extraction import FieldSpec, ResultsReducer, results_markdown, summarize_results
from tinytroupe.extraction.summary_markdown import agent_table_markdown
from tinytroupe.llm import LLMClient, ScriptedBackend

COUNTRIES = ["DE", "BR", "JP"]
PREFS = ["remote", "office", "hybrid"]


def population(n: int = 60, seed: int = 3) -> dict[str, dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows: dict[str, dict[str, Any]] = {}
    for i in range(n):
        rows[f"P{i}"] = {"status": "ok", "error": None, "rating": int(rng.integers(1, 11)),
                         "hours": float(np.round(rng.normal(30, 8), 2)), "preference": str(rng.choice(PREFS)),
                         "reason": f"reason number {i}", "likes": list(rng.choice(["tea", "cake", "sun"], 2,
                                                                                   replace=False)),
                         "commutes": bool(rng.integers(0, 2)), "country": COUNTRIES[i % 3]}
    for failed in ("P5", "P17"):
        rows[failed] = {"status": "failed", "error": "LLMOutputError: cut off", "country": rows[failed]["country"]}
    return rows


def frame(rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame([{"agent": k, **v} for k, v in rows.items()])
    return df[df["status"] == "ok"]


def test_numeric_figures_match_pandas_and_numpy() -> None:
    rows = population()
    summary = summarize_results(rows)
    ok = frame(rows)
    assert (summary.agents, summary.ok, summary.failed) == (60, 58, 2)
    for name in ("rating", "hours"):
        f, col = summary.field(name), ok[name].astype(float)
        assert f.kind == "numeric" and f.answered == 58 and f.missing == 2
        assert f.mean == pytest.approx(col.mean()) and f.sd == pytest.approx(col.std())  # sample sd, as pandas
        assert f.median == pytest.approx(col.median())
        assert (f.minimum, f.maximum) == (col.min(), col.max())
        assert sum(b.count for b in f.histogram) == 58
    # integer answers over a small range: one bar per value, counts as value_counts
    rating = summary.field("rating")
    counts = ok["rating"].value_counts()
    assert [b.low for b in rating.histogram] == list(range(int(ok["rating"].min()), int(ok["rating"].max()) + 1))
    assert {int(b.low): b.count for b in rating.histogram} == {int(v): int(counts.get(v, 0))
                                                                for v in range(int(ok["rating"].min()),
                                                                               int(ok["rating"].max()) + 1)}
    # continuous answers: numpy's bins
    hours = summary.field("hours")
    expected, edges = np.histogram(ok["hours"].to_numpy(), bins=np.histogram_bin_edges(ok["hours"], bins="auto"))
    if len(edges) - 1 > 10:
        expected, edges = np.histogram(ok["hours"].to_numpy(), bins=10)
    assert [b.count for b in hours.histogram] == list(expected)
    assert hours.histogram[0].low == pytest.approx(edges[0]) and hours.histogram[-1].high == pytest.approx(edges[-1])


def test_categorical_list_and_text_fields() -> None:
    rows = population()
    summary = summarize_results(rows)
    ok = frame(rows)
    pref = summary.field("preference")
    shares = ok["preference"].value_counts(normalize=True)
    assert pref.kind == "categorical"
    assert {c.value: c.share for c in pref.categories} == pytest.approx(shares.to_dict())
    assert [c.count for c in pref.categories] == sorted((c.count for c in pref.categories), reverse=True)
    commutes = summary.field("commutes")
    assert commutes.kind == "categorical"
    assert {c.value: c.count for c in commutes.categories} == {
        ("true" if k else "false"): int(v) for k, v in ok["commutes"].value_counts().items()}
    likes = summary.field("likes")
    exploded = ok["likes"].explode().value_counts()
    assert likes.kind == "list" and {c.value: c.count for c in likes.categories} == exploded.to_dict()
    assert {c.value: c.share for c in likes.categories} == pytest.approx((exploded / 58).to_dict())
    reason = summary.field("reason")
    assert reason.kind == "text" and reason.distinct == 58 and reason.categories == []
    with pytest.raises(NotFound):
        summary.field("nope")


def test_choices_list_every_option_and_fields_choose_columns() -> None:
    rows = {"Ana": {"status": "ok", "pick": "tea"}, "Ben": {"status": "ok", "pick": "tea"}}
    summary = summarize_results(rows, fields={"pick": FieldSpec(choices=["coffee", "tea", "water"]),
                                              "never_asked": "int"})
    assert [(c.value, c.count, c.share) for c in summary.field("pick").categories] == [
        ("coffee", 0, 0.0), ("tea", 2, 1.0), ("water", 0, 0.0)]
    never = summary.field("never_asked")
    assert never.answered == 0 and never.missing == 2 and never.mean is None and never.histogram == []
    one = summarize_results({"Ana": {"status": "ok", "x": 4}})
    assert one.field("x").sd is None and one.field("x").mean == 4


def test_segments_match_pandas_groupby() -> None:
    rows = population()
    summary = summarize_results(rows, segment_by="country")
    assert summary.segment_by == ["country"] and [s.segment["country"] for s in summary.segments] == sorted(COUNTRIES)
    ok = frame(rows)
    everyone = pd.DataFrame([{"agent": k, **v} for k, v in rows.items()])
    for seg in summary.segments:
        country = seg.segment["country"]
        part = ok[ok["country"] == country]
        assert seg.agents == int((everyone["country"] == country).sum())  # failed agents are still people
        rating = seg.fields["rating"]
        assert rating.answered == len(part) and rating.mean == pytest.approx(part["rating"].mean())
        assert rating.sd == pytest.approx(part["rating"].std())
        pref = {c.value: c.share for c in seg.fields["preference"].categories if c.count}
        assert pref == pytest.approx(part["preference"].value_counts(normalize=True).to_dict())
    assert sum(s.agents for s in summary.segments) == summary.agents
    # two segment columns, and a column that does not exist
    two = summarize_results(rows, segment_by=["country", "commutes"])
    keys = everyone.assign(commutes=everyone["commutes"].map(
        lambda v: "(none)" if pd.isna(v) else ("true" if v else "false")))
    # failed agents, without an answer, form "(none)", listed last
    assert [tuple(s.segment.values()) for s in two.segments] == sorted(
        keys.groupby(["country", "commutes"]).groups, key=lambda k: (k[0], k[1] == "(none)", k[1]))
    assert sum(s.agents for s in two.segments if s.segment["commutes"] == "(none)") == 2
    assert sum(s.agents for s in two.segments) == 60
    with pytest.raises(InvalidArgument, match="segment_by names 'age'"):
        summarize_results(rows, segment_by="age")
    with pytest.raises(InvalidArgumentType):
        summarize_results("not results")  # type: ignore[arg-type]


def test_markdown_shows_figures_segments_and_cuts_the_table() -> None:
    rows = population()
    md = results_markdown(rows, segment_by="country", max_rows=10, results_file="runs/x/results.csv")
    summary_part, table_part = md.split("## Per agent", 1)
    assert "60 agents · 58 answered · 2 failed" in summary_part
    rating = summarize_results(rows).field("rating")
    assert f"mean {rating.mean:.2f}" in summary_part and "█" in summary_part
    assert "By country:" in summary_part and "| DE |" in summary_part
    assert "free text, 58 distinct answers" in summary_part
    assert table_part.startswith(" (first 10 of 60)")
    body = [line for line in table_part.splitlines() if line.startswith("| P")]
    assert [line.split(" | ")[0] for line in body] == [f"| P{i}" for i in range(10)]
    assert table_part.rstrip().endswith("(50 more in the file runs/x/results.csv)")
    full = agent_table_markdown(rows, max_rows=None)
    assert len([line for line in full.splitlines() if line.startswith("| P")]) == 60 and "more in" not in full
    with pytest.raises(InvalidArgument):
        agent_table_markdown(rows, max_rows=0)


def test_markdown_cells_cannot_break_the_table() -> None:
    md = agent_table_markdown({"Ana": {"status": "ok", "said": "a | b\nc", "long": "x" * 500}})
    row = next(line for line in md.splitlines() if line.startswith("| Ana"))
    assert "a \\| b c" in row and "x" * 500 not in row and row.count(" | ") == 3


def test_a_dataframe_from_the_extractor_works_too() -> None:
    df = pd.DataFrame({"agent": ["A", "B", "C"], "status": ["ok", "ok", "failed"], "error": [None, None, "x"],
                       "rating": pd.array([3, 5, None], dtype="Int64")})
    f = summarize_results(df).field("rating")
    assert (f.answered, f.missing, f.mean, f.kind) == (2, 1, 4.0, "numeric")
    assert math.isclose(f.sd or 0, float(np.std([3, 5], ddof=1)))


# ------------------------------------------------------------------------------ ResultsReducer


def test_reducer_rules_walk_memory_in_order_with_tinytroupe_arguments() -> None:
    client = LLMClient(ScriptedBackend([]))
    ana, ben = TinyPerson("Ana", client=client), TinyPerson("Ben", client=client)
    TinyWorld("Cafe", [ana, ben], client=client, communication_display=False)
    ana.listen("Coffee?", source="Ben")
    ana.memory.add(kind="action", type="TALK", content="Yes please", target="Ben")
    ana.memory.add(kind="action", type="THINK", content="I am tired")
    ana.listen("Sugar?", source="Moderator")
    seen: list[dict[str, Any]] = []

    def talk(**kw: Any) -> dict[str, Any]:
        seen.append(kw)
        source, target = kw["source_agent"], kw["target_agent"]
        return {"from": source.name if source else None, "to": target.name if target else None,
                "kind": kw["kind"], "content": kw["content"]}

    reducer = ResultsReducer()
    reducer.add_reduction_rule("CONVERSATION", talk)
    reducer.add_reduction_rule("TALK", talk)
    reducer.add_reduction_rule("THINK", lambda **kw: None)  # None: nothing for this event
    df = reducer.reduce_agent_to_dataframe(ana)
    assert df.astype(object).where(df.notna(), None).to_dict("records") == [
        {"from": "Ben", "to": "Ana", "kind": "stimulus", "content": "Coffee?"},
        {"from": "Ana", "to": "Ben", "kind": "action", "content": "Yes please"},
        {"from": None, "to": "Ana", "kind": "stimulus", "content": "Sugar?"},
    ]
    assert seen[0]["source_agent"] is ben and seen[0]["focus_agent"] is ana and seen[0]["event"] == "CONVERSATION"
    assert seen[1]["target_agent"] is ben and seen[1]["event"] == "TALK"
    assert seen[2]["source_agent"] is None  # the Moderator is no agent
    assert isinstance(seen[0]["timestamp"], str)
    assert reducer.results["Ana"] == reducer.reduce_agent(ana)


def test_reducer_columns_and_bad_rules() -> None:
    ana = TinyPerson("Ana").listen("Hi", source="Ben")
    reducer = ResultsReducer()
    reducer.add_reduction_rule("CONVERSATION", lambda **kw: (kw["focus_agent"].name, kw["content"]))
    df = reducer.reduce_agent_to_dataframe(ana, column_names=["agent", "heard"])
    assert list(df.columns) == ["agent", "heard"] and df.iloc[0].tolist() == ["Ana", "Hi"]
    with pytest.raises(InvalidArgument, match="already"):
        reducer.add_reduction_rule("CONVERSATION", lambda **kw: None)
    with pytest.raises(InvalidArgumentType):
        reducer.add_reduction_rule("TALK", "not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        reducer.add_reduction_rule(" ", lambda **kw: None)
    with pytest.raises(InvalidArgumentType):
        reducer.reduce_agent("Ana")  # type: ignore[arg-type]
