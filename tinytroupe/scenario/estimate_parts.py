"""The estimate's lines for one run of the script that are not the agents' turns (see
:mod:`tinytroupe.scenario.estimate`): a generated population, memory upkeep and ``story`` steps,
with the typical sizes they assume (what the script's later items add to each prompt is
:mod:`tinytroupe.scenario.estimate_script`).

Example:
    >>> [x.calls for x in memory_lines(Settings(), n=3, turns=6, heard=2)]
    []
"""

from __future__ import annotations

import math
from pathlib import Path

from tinytroupe.config import Settings
from tinytroupe.llm.tokens import tokens_for_chars
from tinytroupe.scenario.estimate_design import EstimateLine, line
from tinytroupe.scenario.estimate_script import story_tokens
from tinytroupe.scenario.model import Scenario
from tinytroupe.scenario.populations import factory_calls
from tinytroupe.steering.trajectory import PROMPT_CHAR_BUDGET

#: tokens of one line of the recent-events section ("Oscar said to you: ..."): a short spoken sentence
LINE_TOKENS = 40
#: lines an agent's own turn adds to its history (a TALK and a THINK, say; DONE is not shown)
OWN_LINES_PER_TURN = 2
#: typical answer tokens per purpose (actions and cognitive state as JSON; one value per field; ratings)
TYPICAL_COMPLETION = {"action": 180, "extraction_base": 20, "extraction_per_field": 30, "importance": 25,
                      "consolidation": 250, "reflection": 150}
#: a factory's prompts and answers in tokens (the full persona schema alone is ~1,600; brief: 348 and 37)
FACTORY_PROMPT = {"plan": 900, "person": 2400, "brief_person": 400}
FACTORY_COMPLETION = {"plan": 500, "person": 900, "brief_person": 60}
#: memories one turn adds (stimuli heard plus own actions); used for consolidation and reflection
#: timing, with the rule importance of a conversation line (4) for reflection
RULE_IMPORTANCE = 4.0


def population_lines(scenario: Scenario, base_dir: Path | None, cap: int, backend: str) -> list[EstimateLine]:
    """A generated population's calls: the plan (when one is asked for) and one per person; none on the
    ``scripted`` backend, whose population the offline population model writes without a model call."""
    if scenario.population is None or not scenario.population.generated or backend == "scripted":
        return []
    plan, people = factory_calls(scenario.population, base_dir or Path.cwd())
    person = "brief_person" if scenario.population.detail == "brief" else "person"
    return [line("population", plan + people, plan * FACTORY_PROMPT["plan"] + people * FACTORY_PROMPT[person],
                  plan * min(cap, FACTORY_COMPLETION["plan"]) + people * min(cap, FACTORY_COMPLETION[person]))]


def memory_lines(settings: Settings, n: int, turns: int, heard: int) -> list[EstimateLine]:
    """The calls of memory upkeep in ``turns`` turns of ``n`` agents: LLM importance ratings (one per
    turn), automatic consolidation and reflection (at their thresholds of each agent's memories)."""
    m, cap = settings.memory, settings.openai.max_completion_tokens
    steps = turns / n if n else 0.0  # the turns each agent takes
    items_per_turn = heard + OWN_LINES_PER_TURN + 1
    lines = []
    if m.importance_scoring == "llm":
        lines.append(line("importance", turns, turns * (120 + items_per_turn * LINE_TOKENS),
                           turns * min(cap, TYPICAL_COMPLETION["importance"])))
    if m.auto_consolidate_on_threshold:
        per_agent = int(steps * items_per_turn) // m.auto_consolidation_threshold
        chunks = per_agent * math.ceil(m.auto_consolidation_threshold / m.consolidation_chunk_size)
        if chunks:
            lines.append(line("consolidation", n * chunks,
                               n * chunks * (150 + m.consolidation_chunk_size * LINE_TOKENS),
                               n * chunks * min(cap, TYPICAL_COMPLETION["consolidation"])))
    if m.enable_reflection:
        per_agent = int(steps * items_per_turn * RULE_IMPORTANCE // m.reflection_threshold)
        if per_agent:
            lines.append(line("reflection", 2 * n * per_agent,
                               2 * n * per_agent * (150 + m.reflection_recent_items * LINE_TOKENS),
                               2 * n * per_agent * min(cap, TYPICAL_COMPLETION["reflection"])))
    return lines


def story_lines(scenario: Scenario, n: int, cap: int) -> list[EstimateLine]:
    """The calls of ``story`` steps: instructions, the story so far and the agents' windows (each within
    the steering budget), and a passage of the asked length."""
    steps = [item.story for item in scenario.script if item.story is not None]
    if not steps:
        return []
    section = tokens_for_chars(PROMPT_CHAR_BUDGET // 3)  # each section's share of a steering prompt
    window = min(section, n * 30 * LINE_TOKENS)  # first_n + last_n events per agent
    prompt, told = 0, 0
    for step in steps:
        prompt += 350 + min(section, told) + window
        told += story_tokens(step.number_of_words)
    return [line("story", len(steps), prompt, sum(min(cap, story_tokens(s.number_of_words)) for s in steps))]


__all__ = ["FACTORY_COMPLETION", "FACTORY_PROMPT", "LINE_TOKENS", "OWN_LINES_PER_TURN", "RULE_IMPORTANCE",
           "TYPICAL_COMPLETION", "memory_lines", "population_lines", "story_lines"]
