"""InsightGenerator on the scripted backend: valid and invalid citations, the judge rejecting an unsupported
insight, malformed answers, the token budget, the dashboard provider, the static report and its CLI command."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from tinytroupe.agent.judging import PropositionCheck
from tinytroupe.analysis.condense import condense_events
from tinytroupe.analysis.insight_generator import InsightGenerator
from tinytroupe.analysis.insights import InsightDrafts
from tinytroupe.analysis.report import build_report, write_report
from tinytroupe.analysis.run_events import RunEvents
from tinytroupe.dashboard.insight_providers import AnalysisInsights
from tinytroupe.embeddings import HashingEmbedder
from tinytroupe.errors import ConfigError, InvalidArgument, LLMOutputError
from tinytroupe.llm import LLMClient, ScriptedBackend

EMB = HashingEmbedder(128)


def talk(agent: str, text: str, step: int, target: str | None = None) -> dict:
    return {"kind": "action", "action_type": "TALK", "agent": agent, "content": text, "step": step, "target": target}


EVENTS = [talk("Ana", "The price is far too high for me.", 1, "Ben"),
          {"kind": "stimulus", "stimulus_type": "CONVERSATION", "agent": "Ben", "source": "Ana",
           "content": "The price is far too high for me.", "step": 1},
          talk("Ben", "I love it, worth every cent.", 1, "Ana"),
          {"kind": "llm_call", "model": "m", "prompt_tokens": 100, "completion_tokens": 20, "step": 1},
          talk("Cy", "I would ask my friends first.", 2)]


def analyst(insights: list[dict], verdicts: dict[str, bool]):
    """A scripted model: the insights as the analyst; as the judge, the verdict given for the claim."""
    def respond(request):
        if request.response_model is InsightDrafts:
            return {"insights": insights}
        assert request.response_model is PropositionCheck
        claim = request.messages[-1].content.split("# Claim\n", 1)[1].split("\n", 1)[0]
        value = verdicts[claim]
        return {"justification": "the cited events say so" if value else "event 2 shows Ben likes the price",
                "value": value, "confidence": 0.8}
    return respond


def test_valid_citations_are_judged_and_invalid_ones_are_marked_without_a_judge_call() -> None:
    drafts = [{"kind": "disagreement", "claim": "Ana and Ben disagree on the price.", "evidence": [0, 2]},
              {"kind": "surprise", "claim": "Dee walked out.", "evidence": [41]},
              {"kind": "theme", "claim": "Cy defers to friends.", "evidence": [4, 3]}]
    backend = ScriptedBackend(analyst(drafts, {"Ana and Ben disagree on the price.": True}))
    report = InsightGenerator(LLMClient(backend)).generate(EVENTS)
    first, invented, unseen = report.insights
    assert (first.supported, first.confidence, first.evidence) == (True, 0.8, [0, 2])
    assert invented.supported is False and invented.reason == "cites events that are not in the run: 41"
    # Event 3 (an LLM call) exists but was not shown to the model: citing it is not evidence.
    assert unseen.supported is False and "not shown" in (unseen.reason or "") and "3" in (unseen.reason or "")
    assert len(backend.requests) == 2  # the analyst, then one judge call: only for the insight that could hold
    judge_prompt = backend.requests[1].messages[-1].content
    assert '[0] step 1 · Ana to Ben: "The price is far too high for me."' in judge_prompt
    assert "[4]" not in judge_prompt  # the judge reads the cited events only
    assert report.valid_pct == pytest.approx(33.3)
    assert "not supported" in report.to_markdown() and "not supported" in report._repr_html_()


def test_the_judge_rejects_an_unsupported_insight_with_its_reason() -> None:
    claim = "Everyone thinks the price is too high."
    client = LLMClient(ScriptedBackend(analyst([{"kind": "theme", "claim": claim, "evidence": [0, 2]}],
                                               {claim: False})))
    insight = InsightGenerator(client).generate(EVENTS).insights[0]
    assert insight.supported is False and insight.reason == "event 2 shows Ben likes the price"
    assert InsightGenerator(client, check=False).generate(EVENTS).insights[0].supported is None


def test_unchecked_insights_and_a_separate_judge() -> None:
    claim = "Ana finds it too expensive."
    drafts = [{"kind": "theme", "claim": claim, "evidence": [0]}]
    unchecked = InsightGenerator(LLMClient(ScriptedBackend([{"insights": drafts}])), check=False).generate(EVENTS)
    assert unchecked.insights[0].supported is None
    judge = ScriptedBackend([{"justification": "she says so", "value": True, "confidence": 1.0}])
    report = InsightGenerator(LLMClient(ScriptedBackend([{"insights": drafts}])),
                              judge=LLMClient(judge)).generate(EVENTS)
    assert report.insights[0].supported is True and len(judge.requests) == 1


def test_an_insight_without_evidence_is_refused_not_accepted() -> None:
    bad = {"insights": [{"kind": "theme", "claim": "Something.", "evidence": []}]}
    client = LLMClient(ScriptedBackend([bad] * 5), max_reasks=1)
    with pytest.raises(LLMOutputError):
        InsightGenerator(client).generate(EVENTS)


def test_nothing_to_read_means_no_call() -> None:
    backend = ScriptedBackend([])
    report = InsightGenerator(LLMClient(backend)).generate([{"kind": "step", "phase": "end", "step": 1}])
    assert report.insights == [] and len(backend.requests) == 0 and report.valid_pct == 100.0
    with pytest.raises(InvalidArgument):
        InsightGenerator(LLMClient(backend), max_insights=0)


def test_the_trace_is_condensed_within_its_budget_evenly_and_says_how() -> None:
    events = [talk(f"A{i % 7}", f"utterance number {i} " + "words " * 20, i // 7 + 1) for i in range(700)]
    events += [{"kind": "action", "action_type": "THINK", "agent": "A1", "content": "hmm", "step": 1}]
    condensed = condense_events(RunEvents.load(events), token_budget=1500)
    assert condensed.tokens <= 1500
    assert condensed.shown_ids == sorted(condensed.shown_ids)
    assert condensed.shown_ids[0] < 20 and condensed.shown_ids[-1] > 680  # the whole run, not its start
    assert "even sample" in condensed.method and "no thought" in condensed.method
    everything = condense_events(RunEvents.load(events[:10]), token_budget=5000)
    assert everything.method.startswith("all 10")
    with pytest.raises(InvalidArgument):
        condense_events(RunEvents.load(events), token_budget=10)


def test_the_dashboard_provider_shows_patterns_and_checked_insights_and_caches() -> None:
    feed = [{**e, "_i": i} for i, e in enumerate(EVENTS)]
    drafts = [{"kind": "disagreement", "claim": "Ana and Ben disagree.", "evidence": [0, 2]},
              {"kind": "surprise", "claim": "Made up.", "evidence": [99]}]
    backend = ScriptedBackend(analyst(drafts, {"Ana and Ben disagree.": True}))
    provider = AnalysisInsights(InsightGenerator(LLMClient(backend)), embedder=EMB, min_new_events=1)
    cards = provider(feed)
    by_title = {c.text: c for c in cards}
    assert by_title["Ana and Ben disagree."].valid is True
    assert by_title["Made up."].valid is False and "99" in (by_title["Made up."].note or "")
    assert any(c.category == "pattern" for c in cards)
    calls = len(backend.requests)
    assert provider(feed) == cards and len(backend.requests) == calls  # no new events: nothing asked again


class _Tags(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "input", "link", "hr", "circle", "rect", "line", "path", "polyline"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.attrs += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attrs += attrs

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_the_report_is_self_contained_and_parses(tmp_path) -> None:
    claim = "Ana and Ben disagree on the price."
    insights = InsightGenerator(LLMClient(ScriptedBackend(analyst(
        [{"kind": "disagreement", "claim": claim, "evidence": [0, 2]}], {claim: True})))).generate(EVENTS)
    events = [*EVENTS, talk("Ana", "<script>alert(1)</script> https://example.com", 2),
              {"kind": "memory", "operation": "snapshot", "agent": "Ana", "episodic_size": 4, "step": 2}]
    page = write_report(events, tmp_path / "r.html", embedder=EMB, insights=insights).read_text(encoding="utf-8")
    assert not re.search(r"https?://", page.replace("https://example.com", ""))
    assert "https://example.com" in page  # the agent's words, as text: escaped, not a link
    assert "<script" not in page and "&lt;script&gt;" in page
    parser = _Tags()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    assert not [v for k, v in parser.attrs if k in ("src", "href") and v and not v.startswith("#")]
    for section in ("glance", "conversation", "network", "memory", "patterns", "insights"):
        assert f'id="{section}"' in page
    assert claim in page and page.count("<svg") >= 4
    with pytest.raises(ConfigError):
        write_report(events, tmp_path / "missing" / "r.html", embedder=EMB)
    assert "No insights" in build_report(events, embedder=EMB)


def test_the_report_command(tmp_path) -> None:
    from tinytroupe.cli import app

    log = tmp_path / "trace.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", str(log), "-o", str(out), "--embedder", "hash", "--title", "Cafe"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and out.read_text(encoding="utf-8").count("<title>Cafe</title>") == 1
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope.sqlite"), "-o", str(out)])
    assert missing.exit_code == 1 and "Error" in missing.output
    wrong = CliRunner().invoke(app, ["report", str(log), "--embedder", "bert"])
    assert wrong.exit_code == 2
