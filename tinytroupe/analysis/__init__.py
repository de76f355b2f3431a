"""Analysis of what happened in a run: patterns found without a language model, and insights a language
model draws from the trace, each checked against the events it cites (``docs/insights.md``).

Public names (import from the submodules; pandas, networkx and scipy load when an analysis runs):
``tinytroupe.analysis.run_events``: RunEvents, EventRecorder;
``tinytroupe.analysis.patterns``: detect_patterns, PatternReport;
``tinytroupe.analysis.sentiment``: sentiment_score, sentiment_trends;
``tinytroupe.analysis.network``: interaction_graph, centralities;
``tinytroupe.analysis.insights``: Insight, InsightReport;
``tinytroupe.analysis.insight_generator``: InsightGenerator;
``tinytroupe.analysis.condense``: condense_events (the trace within a token budget);
``tinytroupe.analysis.report``: build_report, write_report (one self-contained HTML file);
``tinytroupe.analysis.commands``: the ``tinytroupe report`` command.
"""
