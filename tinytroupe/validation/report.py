"""The validation report, as Markdown and as one self-contained HTML page (inline SVG charts, no links).

Both show the same things: the datasets and their sources, the overall score, the whole sample and
each cell (distribution table, distances of the simulation and of the two baselines from the real
answers, Welch's t and KS tests), rankings (mean ranks, Borda and first-choice shares, a test per
option, Spearman's correlation, distances beside the uniform baseline), TinyTroupe's per-metric tests and the semantic
comparison when present, and what each number means.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tinytroupe.validation.comparison import CellComparison, DistributionValidation
from tinytroupe.validation.ranking_comparison import RankingValidation
from tinytroupe.visualization.svg_charts import svg_bar_chart

if TYPE_CHECKING:
    from tinytroupe.validation.empirical import SimulationExperimentEmpiricalValidationResult

Table = tuple[list[str], list[list[str]]]
_BASELINE_LABELS = {"uniform": "uniform baseline", "no_persona": "no-persona baseline"}
_METRIC_LABELS = {"tvd": "TVD", "wasserstein_1": "Wasserstein-1", "js_divergence": "JS divergence"}
DEFINITIONS = [
    "TVD: total variation distance, ½ Σ |p − q|, 0 (same shares) to 1 (no overlap).",
    "Wasserstein-1: how far, in option values (1, 2, ...), answers must move to match; ordered options only.",
    "JS divergence: the Jensen-Shannon divergence in bits (0 to 1), the square of scipy's Jensen-Shannon "
    "distance with base 2.",
    "Uniform baseline: every option equally likely. No-persona baseline: the model asked about the population "
    "directly, without simulated people. A simulation is worth running where it comes closer than both.",
    "Mean and sd are over the options' values; sd is the distribution's (population) standard deviation.",
]
RANKING_DEFINITIONS = [
    "Mean rank: 1 = ranked first; sd is the sample standard deviation over respondents. Options left out of a "
    "partial ranking share the unused ranks.",
    "Borda share: each ranking gives k − 1 points to its first option, ..., 0 to its last; an option's share of all "
    "points. First choice: the share of respondents ranking the option first.",
    "Per-option test: the option's ranks, real against simulated; Holm p: adjusted for testing every option. "
    "Spearman's rho: how alike the two sides order the options by mean rank (1 = the same order).",
    "Uniform baseline: rankings drawn at random (every share 1/k).",
]


def _f(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return "NaN" if math.isnan(value) else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return "NaN" if math.isnan(value) else (f"{value:.3g}" if value >= 0.001 else f"{value:.1e}")


def distance_table(c: CellComparison) -> Table:
    """Rows: real, simulated and each baseline; columns: n, mean, sd and the distances from the real answers."""
    header = ["", "n", "mean", "sd", "TVD", "Wasserstein-1", "JS divergence (bits)"]
    rows = [["real", str(c.real.n or "–"), _f(c.real.mean), _f(c.real.sd), "–", "–", "–"],
            ["simulated", str(c.simulated.n or "–"), _f(c.simulated.mean), _f(c.simulated.sd), _f(c.distance.tvd),
             _f(c.distance.wasserstein_1), _f(c.distance.js_divergence, 4)]]
    for b in c.baselines:
        rows.append([_BASELINE_LABELS[b.baseline], "–", _f(b.distribution.mean), _f(b.distribution.sd),
                     _f(b.distance.tvd), _f(b.distance.wasserstein_1), _f(b.distance.js_divergence, 4)])
    return header, rows


def shares_table(c: CellComparison, options: Sequence[str]) -> Table:
    """Rows: options; columns: the share of each distribution."""
    header = ["option", "real", "simulated", *(_BASELINE_LABELS[b.baseline] for b in c.baselines)]
    rows = [[o, f"{c.real.shares[o]:.1%}", f"{c.simulated.shares[o]:.1%}",
             *(f"{b.distribution.shares[o]:.1%}" for b in c.baselines)] for o in options]
    return header, rows


def cell_findings(c: CellComparison) -> list[str]:
    """Welch's t and KS between real and simulated answers, then the cell's notes."""
    lines = []
    if c.welch_t is not None:
        t = c.welch_t
        lines.append(f"Welch t-test (simulated − real): t = {_f(t.statistic)}, df = {_f(t.degrees_of_freedom, 1)}, "
                     f"p = {_p(t.p_value)}; mean difference {_f(t.mean_difference)}, Cohen's d "
                     f"{_f(t.effect_size.value if t.effect_size else None)}" +
                     "".join(f" ({note})" for note in t.notes))
    if c.ks is not None:
        lines.append(f"Kolmogorov-Smirnov: D = {_f(c.ks.statistic)}, p = {_p(c.ks.p_value)}")
    for b in c.baselines:
        wins = [_METRIC_LABELS.get(m, m) for m, closer in b.simulated_closer.items() if closer]
        lines.append(f"Closer to the real answers than the {_BASELINE_LABELS[b.baseline]} on: "
                     f"{', '.join(wins) if wins else 'no metric'}")
    return lines + list(c.notes)


def ranking_table(v: RankingValidation) -> Table:
    """Rows: options; columns: mean rank (sd), Borda and first-choice shares of each side, and the option's test."""
    header = ["option", "real mean rank (sd)", "simulated mean rank (sd)", "real Borda", "simulated Borda",
              "real first", "simulated first", "test", "p", "Holm p"]
    tests = {t.option: t for t in v.option_tests}
    rows = []
    for o in v.options:
        t = tests.get(o)
        rows.append([o, f"{_f(v.real.mean_rank[o], 2)} ({_f(v.real.sd_rank[o], 2)})",
                     f"{_f(v.simulated.mean_rank[o], 2)} ({_f(v.simulated.sd_rank[o], 2)})",
                     f"{v.real.borda_share[o]:.1%}", f"{v.simulated.borda_share[o]:.1%}",
                     f"{v.real.first_choice_share[o]:.1%}", f"{v.simulated.first_choice_share[o]:.1%}",
                     f"{t.test.statistic_name} = {_f(t.test.statistic)}" if t else "–",
                     _p(t.test.p_value) if t else "–", _p(t.p_holm) if t else "–"])
    return header, rows


def ranking_findings(v: RankingValidation) -> list[str]:
    """The rankings' sample sizes, correlation, distances beside the uniform baseline, and notes."""
    test = {"welch_t_test": "Welch t-test", "t_test": "Student t-test", "mann_whitney": "Mann-Whitney U test"}
    rho = "no Spearman correlation" if v.spearman_rho is None else \
        f"Spearman's rho of the mean ranks = {_f(v.spearman_rho)}" + \
        (f", p = {_p(v.spearman_p)}" if v.spearman_p is not None else "")
    differ = v.significant_options()
    return [f"{v.real.n} real and {v.simulated.n} simulated rankings of {len(v.options)} options; ranks tested "
            f"per option with the {test.get(v.test_type, v.test_type)} (alpha {v.alpha:g}).", rho,
            f"First-choice shares: TVD {_f(v.first_choice_tvd)} (uniform baseline {_f(v.uniform_first_choice_tvd)})",
            f"Borda shares: TVD {_f(v.borda_tvd)} (uniform baseline {_f(v.uniform_borda_tvd)})",
            f"Ranks differ significantly (p < {v.alpha:g}) for: {', '.join(differ) if differ else 'no option'}; "
            f"after Holm's adjustment: {', '.join(v.significant_options(adjusted=True)) or 'no option'}",
            *v.notes]


def _title(c: CellComparison) -> str:
    return "Whole sample" if c.cell is None else f"Cell: {c.cell}"


def _sections(v: DistributionValidation) -> list[CellComparison]:
    return [v.overall, *v.cells]


def _md_table(table: Table) -> list[str]:
    header, rows = table
    esc = [[cell.replace("|", "\\|") for cell in row] for row in [header, *rows]]
    return ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in esc[1:]), ""]


def _head(r: SimulationExperimentEmpiricalValidationResult) -> list[tuple[str, str]]:
    pairs = [("Real data (control)", r.control_name), ("Simulated (treatment)", r.treatment_name)]
    if r.control_source:
        pairs.append(("Source of the real data", r.control_source))
    v = r.distribution_results
    if v is not None and v.question:
        pairs.append(("Question", v.question))
    if v is not None:
        pairs.append(("Options", "; ".join(f"{_f(x, 0) if float(x).is_integer() else x} = {o}"
                                           for o, x in zip(v.options, v.option_values, strict=True))))
    if r.ranking_results is not None:
        pairs.append(("Options ranked", "; ".join(r.ranking_results.options)))
    pairs += [("Validation", r.validation_type), ("Timestamp", r.timestamp),
              ("Overall score", f"{_f(r.overall_score)} ({r.score_basis})")]
    return pairs


def to_markdown(r: SimulationExperimentEmpiricalValidationResult) -> str:
    """The report as Markdown."""
    out = ["# Simulation experiment empirical validation", ""]
    out += [f"**{k}:** {val}  " for k, val in _head(r)] + ["", "## Summary", "", r.summary, ""]
    if r.distribution_results is not None:
        for c in _sections(r.distribution_results):
            out += [f"## {_title(c)}", "", *_md_table(distance_table(c)),
                    *_md_table(shares_table(c, r.distribution_results.options)),
                    *(f"- {line}" for line in cell_findings(c)), ""]
        out += [f"- {n}" for n in r.distribution_results.notes]
    if r.ranking_results is not None:
        out += ["## Rankings", "", *_md_table(ranking_table(r.ranking_results)),
                *(f"- {line}" for line in ranking_findings(r.ranking_results)), ""]
    if r.statistical_results and r.statistical_results.get("test_results"):
        out += ["## Per-metric tests", "", *_md_table(metric_table(r)), ""]
    if r.semantic_results:
        out += ["## Semantic comparison of justifications", "",
                *(f"- {k}: {val}" for k, val in r.semantic_results.items()), ""]
    out += ["## What the numbers mean", "", *(f"- {d}" for d in _definitions(r)), ""]
    return "\n".join(out)


def _definitions(r: SimulationExperimentEmpiricalValidationResult) -> list[str]:
    if r.ranking_results is None:
        return DEFINITIONS
    return (DEFINITIONS if r.distribution_results is not None else DEFINITIONS[:1]) + RANKING_DEFINITIONS


def metric_table(r: SimulationExperimentEmpiricalValidationResult) -> Table:
    """TinyTroupe's per-metric tests (``key_results``): one row per metric."""
    header = ["metric", "test", "statistic", "p", "significant", "effect size"]
    rows = []
    for by_metric in (r.statistical_results or {}).get("test_results", {}).values():
        for metric, t in by_metric.items():
            effect = t.get("effect_size")
            rows.append([metric, str(t.get("test_name", t.get("test_type"))),
                         f"{t.get('statistic_name', '')} = {_f(t.get('statistic'))}", _p(t.get("p_value", math.nan)),
                         "yes" if t.get("significant") else "no",
                         f"{effect['name']} {_f(effect['value'])}" if isinstance(effect, dict) else "–"])
    return header, rows


def _html_table(table: Table) -> str:
    header, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(c: CellComparison, options: Sequence[str]) -> str:
    short = len(options) > 4 or max(len(o) for o in options) > 12
    categories = [str(i + 1) for i in range(len(options))] if short else list(options)
    series = [("real", [c.real.shares[o] for o in options]), ("simulated", [c.simulated.shares[o] for o in options])]
    series += [(_BASELINE_LABELS[b.baseline], [b.distribution.shares[o] for o in options]) for b in c.baselines]
    title = f"Answer shares: {'whole sample' if c.cell is None else c.cell}"
    chart = svg_bar_chart(title, "option", "share of answers", categories, series, width=760, height=300)
    key = "; ".join(f"{i + 1} = {html.escape(o)}" for i, o in enumerate(options)) if short else ""
    return chart + (f'<p class="key">{key}</p>' if key else "")


def _ranking_chart(v: RankingValidation) -> str:
    short = len(v.options) > 4 or max(len(o) for o in v.options) > 12
    categories = [str(i + 1) for i in range(len(v.options))] if short else list(v.options)
    series = [("real", [v.real.mean_rank[o] for o in v.options]),
              ("simulated", [v.simulated.mean_rank[o] for o in v.options])]
    chart = svg_bar_chart("Mean rank (1 = best)", "option", "mean rank", categories, series, width=760, height=300)
    key = "; ".join(f"{i + 1} = {html.escape(o)}" for i, o in enumerate(v.options)) if short else ""
    return chart + (f'<p class="key">{key}</p>' if key else "")


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a202c}"
        "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #cbd5e0;padding:.25rem .6rem;"
        "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#edf2f7}"
        ".key{font-size:.85rem;color:#4a5568}dt{font-weight:600}")


def to_html(r: SimulationExperimentEmpiricalValidationResult) -> str:
    """The report as one HTML page: styles and charts inline, nothing loaded from anywhere."""
    e = html.escape
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>Simulation experiment empirical validation</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>Simulation experiment empirical validation</h1><dl>",
             *(f"<dt>{e(k)}</dt><dd>{e(str(val))}</dd>" for k, val in _head(r)),
             f"</dl><h2>Summary</h2><p>{e(r.summary)}</p>"]
    v = r.distribution_results
    if v is not None:
        for c in _sections(v):
            parts += [f"<h2>{e(_title(c))}</h2>", _chart(c, v.options), _html_table(distance_table(c)),
                      _html_table(shares_table(c, v.options)),
                      "<ul>" + "".join(f"<li>{e(line)}</li>" for line in cell_findings(c)) + "</ul>"]
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in v.notes) + "</ul>" if v.notes else "")
    if r.ranking_results is not None:
        rv = r.ranking_results
        parts += ["<h2>Rankings</h2>", _ranking_chart(rv), _html_table(ranking_table(rv)),
                  "<ul>" + "".join(f"<li>{e(line)}</li>" for line in ranking_findings(rv)) + "</ul>"]
    if r.statistical_results and r.statistical_results.get("test_results"):
        parts += ["<h2>Per-metric tests</h2>", _html_table(metric_table(r))]
    if r.semantic_results:
        parts += ["<h2>Semantic comparison of justifications</h2><ul>",
                  *(f"<li>{e(k)}: {e(str(val))}</li>" for k, val in r.semantic_results.items()), "</ul>"]
    parts += ["<h2>What the numbers mean</h2><ul>", *(f"<li>{e(d)}</li>" for d in _definitions(r)),
              "</ul></body></html>"]
    return "".join(parts)


__all__ = ["DEFINITIONS", "RANKING_DEFINITIONS", "cell_findings", "distance_table", "metric_table", "ranking_findings",
           "ranking_table", "shares_table", "to_html", "to_markdown"]
