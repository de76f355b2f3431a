"""The parts of a scenario's estimate that its world decides (see :mod:`tinytroupe.scenario.estimate`):
who takes a turn in each step, and what a classroom's quiz grading adds after the script.

* **turns**: without an activity schedule every agent acts in every step. With one (a scenario's
  ``schedule:`` routines and ``activity``), an agent acts only within its routine, when its seeded draw
  for the step falls under its activity, or when the step brings it a scheduled event's start. The
  draws are a hash of (seed, step, name), so the estimate replays the run's schedule step by step on
  the estimate's own world (:meth:`~tinytroupe.environment.TinyWorld.step_without_turns`): the count
  is exact for a seeded scenario. Every replication of an experiment has its own seed, hence its own
  draws. The extraction question's step is everyone's, whatever their routine. Not foreseen: calendar
  events that agents book during the run (they may wake someone), and, without a seed or with a
  generated population (whose names are unknown until it is written), the very draws: the count is
  then one draw of the same chances, and the run's differs by chance.
* **quiz grading** (a classroom): one extraction call per student for each quiz given, then one judge
  call per rubric question per student who answered it (a key question needs none). The estimate
  assumes every student answers every rubric question, so its judge calls are an upper bound: a
  student who gives no answer is not judged.

Example:
    >>> from tinytroupe.scenario.model import Scenario
    >>> s = Scenario.model_validate({"name": "x", "seed": 1, "world": {"initial_datetime": "2025-01-06T08:00:00",
    ...     "minutes_per_step": 60}, "agents": [{"example": "lisa"}, {"example": "oscar",
    ...     "routine": {"hours": ["10:00-12:00"]}}], "script": [{"run": 4}]})
    >>> from tinytroupe.scenario.runner import build_agents, build_world
    >>> run_turns(build_world(s, build_agents(s, None, []), None), s)
    [1, 2, 2, 1]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tinytroupe.environment.classroom import TinyClassroom
from tinytroupe.environment.classroom_models import Quiz
from tinytroupe.environment.world import TinyWorld
from tinytroupe.extraction.quiz_grading import quiz_extractor
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.tokens import estimate_tokens
from tinytroupe.scenario.estimate_design import JUDGE_COMPLETION, EstimateLine, line
from tinytroupe.scenario.model import Scenario

#: a rubric judge's prompt beyond the question, the rubric and the answer: its instructions (~300
#: tokens rendered) and a typical student's answer
QUIZ_JUDGE_PROMPT = 300 + 40
#: a quiz extraction's answer: the JSON around it and one short text per question
QUIZ_ANSWER_BASE, QUIZ_ANSWER_TOKENS = 20, 15


def run_turns(world: TinyWorld, scenario: Scenario) -> list[int]:
    """The turns in each step of one run of ``scenario``'s script on ``world`` (built for it, before its
    first step), then the extraction question's step, where everyone acts. The world's clock and
    scheduled events move on; nobody acts and no model is called."""
    n = len(world.agents)
    question = scenario.extraction is not None and bool(scenario.extraction.question)
    if world.activity is None:
        turns = [n] * scenario.total_steps
    else:
        minutes = scenario.world.minutes_per_step
        delta = timedelta(minutes=minutes) if minutes else None
        turns = [len(world.step_without_turns(delta)) for _ in range(scenario.total_steps)]
    return turns + [n] * int(question)


def turns_of_runs(scenario: Scenario, world: TinyWorld, seeds: list[int | None],
                  world_for: Callable[[Scenario], TinyWorld]) -> list[list[int]]:
    """:func:`run_turns` for each run (``seeds``: each run's seed, see
    :func:`~tinytroupe.scenario.estimate_design.run_seeds`); ``world`` is the scenario's own, and
    ``world_for(copy)`` builds the world of a copy with another seed (only an activity schedule's
    draws depend on it)."""
    first = run_turns(world, scenario)
    if world.activity is None:
        return [first for _ in seeds]
    by_seed: dict[int | None, list[int]] = {scenario.seed: first}
    for seed in seeds:
        if seed not in by_seed:
            copy = scenario.model_copy(update={"seed": seed})
            by_seed[seed] = run_turns(world_for(copy), copy)
    return [by_seed[seed] for seed in seeds]


def given_quizzes(world: TinyWorld, scenario: Scenario) -> list[Quiz]:
    """The quizzes the script gives in a classroom (none in other worlds)."""
    spec = scenario.world.classroom
    if not isinstance(world, TinyClassroom) or spec is None:
        return []
    ids = [item.quiz for item in scenario.script if item.quiz is not None]
    return [Quiz.model_validate(q.model_dump()) for i in ids for q in spec.quizzes if q.id == i]


def quiz_prompts(world: TinyWorld, scenario: Scenario, client: LLMClient) -> list[int]:
    """The tokens of each quiz extraction prompt (per quiz, per student) rendered from the students'
    history so far (the estimate adds what the run's steps add)."""
    out = []
    for quiz in given_quizzes(world, scenario):
        extractor = quiz_extractor(quiz, client)
        for student in world.students if isinstance(world, TinyClassroom) else []:
            messages = extractor._messages(student.pretty_current_interactions(), extractor.extraction_objective,
                                           extractor.situation, extractor.fields, client)
            out.append(sum(estimate_tokens(m.content) for m in messages))
    return out


def quiz_lines(world: TinyWorld, scenario: Scenario, prompts: list[int], history: int,
               cap: int) -> list[EstimateLine]:
    """A classroom's quiz grading in one run: the extraction calls (``prompts`` from
    :func:`quiz_prompts`, each grown by ``history`` tokens) and the rubric judge calls, assuming
    every student answers (an upper bound)."""
    quizzes = given_quizzes(world, scenario)
    if not quizzes or not isinstance(world, TinyClassroom):
        return []
    students = len(world.students)
    questions = sum(len(q.questions) for q in quizzes)
    rubrics = [q for quiz in quizzes for q in quiz.questions if q.rubric is not None]
    lines = [line("extraction", len(prompts), sum(prompts) + len(prompts) * history,
                  students * min(cap, QUIZ_ANSWER_BASE + questions * QUIZ_ANSWER_TOKENS))]
    if rubrics:
        judged = students * len(rubrics)
        prompt = students * sum(QUIZ_JUDGE_PROMPT + estimate_tokens(q.text + (q.rubric or "")) for q in rubrics)
        lines.append(line("quiz_grading", judged, prompt, judged * min(cap, JUDGE_COMPLETION)))
    return lines


__all__ = ["QUIZ_ANSWER_BASE", "QUIZ_ANSWER_TOKENS", "QUIZ_JUDGE_PROMPT", "given_quizzes", "quiz_lines",
           "quiz_prompts", "run_turns", "turns_of_runs"]
