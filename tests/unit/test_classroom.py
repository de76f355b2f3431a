"""TinyClassroom: lessons, questions and answers, participation, quizzes graded by extraction (answer
key and rubric judge) on the scripted backend, metrics, and state saved with the world."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import DONE_TURN, START, agent_of, heard, turn
from pydantic import TypeAdapter

from tinytroupe import control
from tinytroupe.agent import Action, TinyPerson
from tinytroupe.agent.judging import PropositionScore
from tinytroupe.environment import Grade, Lesson, Quiz, QuizQuestion, TinyClassroom
from tinytroupe.environment.classroom_models import grade_by_key
from tinytroupe.environment.state_models import AnyWorldState, ClassroomState, WorldState
from tinytroupe.errors import InvalidArgument, LLMOutputError
from tinytroupe.extraction import QuizGrader
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend

QUIZ = Quiz(id="fractions", title="Fractions", questions=[
    QuizQuestion(id="q1", text="What is 1/2 + 1/4?", answer="3/4", accepted=["0.75"]),
    QuizQuestion(id="q2", text="How many quarters make a whole?", answer="4", points=2),
    QuizQuestion(id="q3", text="Explain what a fraction is.", rubric="says it is a part of a whole", points=3),
])
_ANSWERS = re.compile(r"ANSWERS (\{.*?\})")


def backend(turns: dict[str, list[dict[str, Any]]], judge: Callable[[str], Any] | None = None) -> ScriptedBackend:
    """Agents' turns in order; extraction reads the JSON after ``ANSWERS`` in the student's record
    (what the student said); the judge scores an answer by ``judge(answer)``."""
    queues = {name: list(t) for name, t in turns.items()}

    def respond(request: LLMRequest) -> Any:
        if request.schema_name == "ActionTurn":
            name = agent_of(request)
            return queues[name].pop(0) if queues.get(name) else DONE_TURN
        text = request.messages[-1].content
        if request.response_model is PropositionScore:
            answer = text.split("Student's answer: ", 1)[1].split("\n", 1)[0]
            return judge(answer) if judge else {"justification": "ok", "value": 9, "confidence": 1}
        said = _ANSWERS.findall(text)
        return json.loads(said[-1]) if said else {"q1": "", "q2": "", "q3": ""}

    return ScriptedBackend(respond)


def classroom(turns: dict[str, list[dict[str, Any]]] | None = None,
              judge: Callable[[str], Any] | None = None) -> TinyClassroom:
    client = LLMClient(backend(turns or {}, judge))
    return TinyClassroom("Room 101", teacher=TinyPerson("Lee"), students=[TinyPerson("Ana"), TinyPerson("Ben")],
                         initial_datetime=START, client=client, communication_display=False)


def test_lessons_reach_every_student_from_the_teacher() -> None:
    room = classroom()
    room.deliver_lesson(Lesson(title="Fractions", sections=["A fraction is part of a whole.", "1/2 is a half."]))
    room.deliver_lesson("Decimals", ["0.5 is a half."])
    for name in ("Ana", "Ben"):
        assert heard(room.name_to_agent[name]) == [("Lee", "A fraction is part of a whole."), ("Lee", "1/2 is a half."),
                                                   ("Lee", "0.5 is a half.")]
    assert heard(room.name_to_agent["Lee"]) == []  # the teacher keeps thoughts of what was taught
    assert [x.title for x in room.lessons] == ["Fractions", "Decimals"]
    with pytest.raises(InvalidArgument, match="has no sections"):
        room.deliver_lesson("Empty")
    bare = TinyClassroom("Bare", students=[TinyPerson("Cy")], initial_datetime=START, communication_display=False)
    with pytest.raises(InvalidArgument, match="has no teacher to deliver a lesson; call set_teacher first"):
        bare.deliver_lesson("X", ["y"])


def test_questions_are_asked_by_students_and_answered_by_the_teacher() -> None:
    turns = {
        "Ana": [turn(("TALK", "Why is 1/2 bigger than 1/3?", "Lee")), turn(("TALK", "Thanks!", "Lee"))],
        "Ben": [turn(("TALK", "I like fractions", "")), turn(("TALK", "Is 2/4 a half?", "Lee"))],
        "Lee": [DONE_TURN, turn(("TALK", "Fewer pieces means bigger pieces.", "Ana")),
                turn(("TALK", "Yes, 2/4 equals 1/2.", ""))],
    }
    room = classroom(turns)
    room.run(3)
    q1, q2 = room.questions
    assert (q1.id, q1.student, q1.answer, q1.answered_step) == ("Q1", "Ana", "Fewer pieces means bigger pieces.", 2)
    assert (q2.id, q2.student, q2.step, q2.answer) == ("Q2", "Ben", 2, "Yes, 2/4 equals 1/2.")
    participation = room.participation_dataframe().set_index("student")
    assert participation.loc["Ana"].tolist() == [2, 1, 1, 0.5]
    assert participation.loc["Ben"].tolist() == [2, 1, 1, 0.5]
    assert room.errors == []


def test_a_question_is_not_answered_in_the_step_it_is_asked() -> None:
    room = classroom()
    ana, lee = room.name_to_agent["Ana"], room.name_to_agent["Lee"]
    room._step = 1
    room._handle_actions(ana, [Action(type="TALK", content="What is a third?", target="Lee")])
    room._handle_actions(lee, [Action(type="TALK", content="Let us begin.", target="")])
    assert room.questions[0].answer is None
    room._step = 2
    room._handle_actions(lee, [Action(type="TALK", content="Ben, sit down.", target="Ben")])  # not Ana's
    assert room.questions[0].answer is None
    room._handle_actions(lee, [Action(type="TALK", content="One of three equal parts.", target="")])
    assert room.questions[0].answer == "One of three equal parts."


def test_answer_key_grading_normalises_case_spacing_punctuation_and_numbers() -> None:
    q = QuizQuestion(id="q", text="Capital of France?", answer="Paris", accepted=["Paris, France"])
    assert [grade_by_key(q, a) for a in ["paris", "  PARIS. ", "Paris, France", "Lyon", "", None]] == \
        [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    n = QuizQuestion(id="n", text="Half?", answer="0.5", points=2)
    assert [grade_by_key(n, a) for a in ["0.50", ".5", "1/2", "1,000"]] == [2.0, 2.0, 0.0, 0.0]
    with pytest.raises(InvalidArgument, match="graded by rubric"):
        grade_by_key(QUIZ.questions[2], "x")


@pytest.mark.parametrize(("data", "message"), [
    ({"id": "q1", "text": "?"}, "exactly one of 'answer'"),
    ({"id": "q1", "text": "?", "answer": "a", "rubric": "r"}, "exactly one of 'answer'"),
    ({"id": "q 1", "text": "?", "answer": "a"}, "should match pattern"),
    ({"id": "q1", "text": "?", "rubric": "r", "accepted": ["a"]}, "go with an 'answer'"),
])
def test_bad_quiz_questions_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuizQuestion.model_validate(data)
    with pytest.raises(ValueError, match="more than once: q1"):
        Quiz(id="x", title="x", questions=[QuizQuestion(id="q1", text="a", answer="1")] * 2)


def test_quizzes_are_graded_by_extraction_with_key_and_rubric() -> None:
    turns = {
        "Ana": [turn(("TALK", 'ANSWERS {"q1": "0.75", "q2": "4", "q3": "A part of a whole."}', "Lee"))],
        "Ben": [turn(("TALK", 'ANSWERS {"q1": "2/6", "q2": "four", "q3": "A number."}', "Lee"))],
    }

    def judge(answer: str) -> dict[str, Any]:
        value = 9 if "part of a whole" in answer else 3
        return {"justification": f"judged {answer!r}", "value": value, "confidence": 0.9}

    room = classroom(turns, judge)
    given = room.give_quiz(QUIZ)
    assert given.given_step == 0
    assert heard(room.name_to_agent["Ana"])[-1][1].startswith("Quiz 'Fractions' (fractions). Answer each question:")
    room.run(1)
    grades = QuizGrader().grade(room, "fractions")
    table = {(g.student, g.question): (g.answer, g.score, g.method) for g in grades}
    assert table == {("Ana", "q1"): ("0.75", 1.0, "key"), ("Ana", "q2"): ("4", 2.0, "key"),
                     ("Ana", "q3"): ("A part of a whole.", 3.0, "rubric"),
                     ("Ben", "q1"): ("2/6", 0.0, "key"), ("Ben", "q2"): ("four", 0.0, "key"),
                     ("Ben", "q3"): ("A number.", 1.0, "rubric")}
    scores = room.quiz_scores().set_index("student")
    assert scores.loc["Ana", "percent"] == 100.0 and scores.loc["Ben", "score"] == 1.0
    assert scores.loc["Ben", "points"] == 6.0
    frame = room.scores_dataframe()
    assert len(frame) == 6 and "judged 'A number.'" in frame.set_index(["student", "question"]).loc[
        ("Ben", "q3"), "justification"]
    with pytest.raises(InvalidArgument, match="was given already"):
        room.give_quiz(QUIZ)
    with pytest.raises(InvalidArgument, match="no quiz 'nope' was given in Room 101 \\(given: fractions\\)"):
        QuizGrader().grade(room, "nope")


def test_grading_failures_leave_no_invented_score() -> None:
    turns = {"Ana": [turn(("TALK", 'ANSWERS {"q1": "3/4", "q2": "4", "q3": "part of a whole"}', "Lee"))]}

    def broken_judge(answer: str) -> Any:
        return LLMOutputError("judge broke", raw_text="???")

    room = classroom(turns, broken_judge)
    room.give_quiz(QUIZ)
    room.run(1)
    grades = {(g.student, g.question): g for g in QuizGrader().grade(room, "fractions")}
    assert grades[("Ana", "q1")].score == 1.0
    assert grades[("Ana", "q3")].score is None
    assert "the judge failed: LLMOutputError" in str(grades[("Ana", "q3")].error)
    assert grades[("Ben", "q1")].answer is None and grades[("Ben", "q1")].score == 0.0  # Ben said nothing
    scores = room.quiz_scores().set_index("student")
    assert pd.isna(scores.loc["Ana", "score"]) and pd.isna(scores.loc["Ana", "percent"])  # not a partial sum


def test_state_round_trips_and_checkpoints_keep_the_classroom() -> None:
    turns = {"Ana": [turn(("TALK", "What is 1/3?", "Lee"))]}
    room = classroom(turns)
    room.deliver_lesson("Thirds", ["Three equal parts."])
    room.give_quiz(QUIZ)
    room.run(1)
    room.record_grades([Grade(quiz="fractions", student="Ana", question="q1", answer="3/4", score=1.0, points=1,
                              method="key")])
    data = json.loads(json.dumps(room.to_state()))
    assert isinstance(TypeAdapter(AnyWorldState).validate_python(data), ClassroomState)
    copy = TinyClassroom("Room 101", initial_datetime=START, client=room.client, communication_display=False)
    copy.load_state(data)
    assert copy.to_state() == room.to_state()
    assert copy.teacher is not None and copy.teacher.name == "Lee"
    assert copy.participation_dataframe().equals(room.participation_dataframe())
    with pytest.raises(InvalidArgument, match="not a classroom's"):
        copy.apply_state(WorldState.parse(data))
    with pytest.raises(InvalidArgument, match="has no question 'q9'"):
        room.record_grades([Grade(quiz="fractions", student="Ana", question="q9", answer=None, score=0, points=1,
                                  method="key")])


def test_a_checkpoint_in_the_run_file_restores_the_classroom(tmp_path: Path) -> None:
    with control.Simulation(tmp_path / "run.sqlite", backend=ScriptedBackend([DONE_TURN], cycle=True),
                            quiet=True) as sim:
        room = classroom()
        room.client = sim.client
        room.deliver_lesson("Thirds", ["Three equal parts."])
        room.give_quiz(QUIZ)
        room.run(1)
        sim.checkpoint("after the quiz")
        saved = room.to_state()
    with control.Simulation(tmp_path / "run.sqlite", backend=ScriptedBackend([DONE_TURN], cycle=True),
                            quiet=True) as sim2:
        fresh = TinyClassroom("Room 101", initial_datetime=START, communication_display=False)
        sim2.restore(fresh)
        assert fresh.to_state() == saved and list(fresh.quizzes) == ["fractions"]
