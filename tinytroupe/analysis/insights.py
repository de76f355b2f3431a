"""Insights about a run and what they rest on: the model's answer (:class:`InsightDraft`), a checked
:class:`Insight` and the :class:`InsightReport` of a run, as Markdown and HTML (and in notebooks).

Example:
    >>> report = InsightReport(insights=[
    ...     Insight(claim="Ana and Ben disagree on price.", kind="disagreement", evidence=[3, 7], supported=True),
    ...     Insight(claim="Cy loves it.", kind="theme", evidence=[99], supported=False,
    ...             reason="cites events that are not in the run: 99")])
    >>> report.valid_pct
    50.0
    >>> print(report.to_markdown().splitlines()[4])
    - **disagreement** Ana and Ben disagree on price. (events 3, 7)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tinytroupe import html_views

InsightKind = Literal["theme", "disagreement", "surprise", "segment", "recommendation"]
KINDS: tuple[str, ...] = ("theme", "disagreement", "surprise", "segment", "recommendation")
#: event ids one insight may cite
MAX_EVIDENCE = 12


class InsightDraft(BaseModel):
    """One insight as the model states it, before it is checked."""

    kind: InsightKind = Field(description="theme, disagreement, surprise, segment or recommendation")
    claim: str = Field(min_length=1, max_length=800, description="the insight, in one or two sentences")
    evidence: list[int] = Field(min_length=1, max_length=MAX_EVIDENCE,
                                description="ids of the events (shown in brackets) the claim rests on")


class InsightDrafts(BaseModel):
    """The model's answer: its insights (possibly none)."""

    insights: list[InsightDraft] = Field(default_factory=list, max_length=20)


class Insight(BaseModel):
    """A checked insight: ``supported`` is True when its cited events exist, were shown to the model and a
    judge found they support it; False with the ``reason`` otherwise; None when not checked."""

    claim: str
    kind: str
    evidence: list[int]
    supported: bool | None = None
    reason: str | None = None
    confidence: float | None = None

    def _repr_html_(self) -> str:
        state = "supported" if self.supported else "NOT supported" if self.supported is False else "unchecked"
        return html_views.card(f"{self.kind}: {state}", "", ("Claim", f"<p>{html_views.text(self.claim, 2000)}</p>"),
                               ("Evidence", html_views.fields([("events", ", ".join(map(str, self.evidence))),
                                                               ("why", self.reason)])))


class InsightReport(BaseModel):
    """The insights of a run and how they were drawn (what the model was shown, from how much)."""

    insights: list[Insight] = Field(default_factory=list)
    origin: str = ""
    events_total: int = 0
    events_shown: int = 0
    condensed_how: str = ""
    token_budget: int = 0

    @property
    def supported(self) -> list[Insight]:
        return [i for i in self.insights if i.supported]

    @property
    def valid_pct(self) -> float:
        """Percentage of insights whose evidence was checked and holds (100.0 when there are none)."""
        if not self.insights:
            return 100.0
        return round(100.0 * len(self.supported) / len(self.insights), 1)

    def to_markdown(self) -> str:
        lines = ["# Insights", "", f"{len(self.insights)} insight(s), {len(self.supported)} supported by their "
                 f"evidence; drawn from {self.events_shown} of {self.events_total} events ({self.condensed_how}).", ""]
        for i in self.insights:
            mark = "" if i.supported else " — **not supported**" if i.supported is False else " — unchecked"
            why = f": {i.reason}" if i.reason and not i.supported else ""
            lines.append(f"- **{i.kind}** {i.claim} (events {', '.join(map(str, i.evidence))}){mark}{why}")
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """An HTML fragment (inline styles): one row per insight, unsupported ones marked in red."""
        rows = []
        for i in self.insights:
            colour = "#2f855a" if i.supported else "#c53030" if i.supported is False else "#718096"
            state = "supported" if i.supported else "not supported" if i.supported is False else "unchecked"
            reason = f'<div style="color:#c53030">{html_views.text(i.reason, 600)}</div>' if i.reason and \
                not i.supported else ""
            rows.append(f'<li style="margin:4px 0"><b>{html_views.text(i.kind)}</b> {html_views.text(i.claim, 2000)} '
                        f'<span style="color:#718096">(events {html_views.text(", ".join(map(str, i.evidence)))})'
                        f'</span> <span style="color:{colour};font-weight:bold">{state}</span>{reason}</li>')
        body = f"<ul>{''.join(rows)}</ul>" if rows else "<p>no insights</p>"
        return html_views.card("Insights", f"{len(self.supported)} of {len(self.insights)} supported by their "
                               f"evidence · drawn from {self.events_shown} of {self.events_total} events",
                               ("", body), ("How the trace was condensed", html_views.text(self.condensed_how, 600)))

    def _repr_html_(self) -> str:
        return self.to_html()


__all__ = ["KINDS", "MAX_EVIDENCE", "Insight", "InsightDraft", "InsightDrafts", "InsightKind", "InsightReport"]
