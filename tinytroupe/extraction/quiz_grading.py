"""``QuizGrader``: grades a classroom's quiz from what the students said.

One :class:`~tinytroupe.extraction.ResultsExtractor` call per student extracts their answers, with one
text field per quiz question (the question's id). Each answer is then graded by the question's answer
key (:func:`~tinytroupe.environment.classroom_models.grade_by_key`: no LLM call) or, for a question
with a rubric, by an LLM judge scoring 0-9 how far the answer meets the rubric
(:func:`~tinytroupe.agent.judging.ajudge`; the score is that fraction of the question's points). The
grades are recorded in the classroom, whose ``scores_dataframe()`` and ``quiz_scores()`` show them.

Nothing is invented: a student whose answers could not be extracted, or an answer the judge could not
grade, gets a grade with no score and the ``error`` that says why.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import Quiz, QuizQuestion, TinyClassroom
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"q1": "4"}]))
    >>> room = TinyClassroom("Room", teacher=TinyPerson("Lee"), students=[TinyPerson("Ana")],
    ...                      initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> _ = room.give_quiz(Quiz(id="math", title="Sums", questions=[QuizQuestion(id="q1", text="2+2?", answer="4")]))
    >>> [(g.student, g.answer, g.score) for g in QuizGrader(client=client).grade(room, "math")]
    [('Ana', '4', 1.0)]
"""

from __future__ import annotations

import contextlib

from tinytroupe.agent.judging import PropositionScore, ajudge
from tinytroupe.aio import run_sync
from tinytroupe.environment.classroom import TinyClassroom
from tinytroupe.environment.classroom_models import Grade, Quiz, QuizQuestion, grade_by_key
from tinytroupe.errors import ExtractionError, LLMError
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.extraction.results_extractor import ResultsExtractor
from tinytroupe.llm.client import LLMClient
from tinytroupe.redaction import redact

#: the judge's scale (0-9, :data:`~tinytroupe.agent.judging.MAX_SCORE`) as a fraction of a question's points
_SCALE = 9


class QuizGrader:
    """Extracts and grades the answers to a classroom's quiz (see the module docstring).

    Args:
        client: the LLM client for extraction and judging (default: each student's, the classroom's
            for the judge).
        judge_client: a different client for the rubric judge (default: ``client``).
    """

    def __init__(self, client: LLMClient | None = None, judge_client: LLMClient | None = None) -> None:
        self.client = client
        self.judge_client = judge_client

    async def agrade(self, classroom: TinyClassroom, quiz_id: str) -> list[Grade]:
        """Async twin of :meth:`grade`."""
        quiz = classroom.quiz(quiz_id)
        students = classroom.students
        extractor = quiz_extractor(quiz, self.client)
        # Each failure stays in extractor.agent_failures and becomes a grade without a score.
        with contextlib.suppress(ExtractionError):
            await extractor.aextract_results_from_agents(students)
        judge = self.judge_client or self.client or classroom.client
        grades: list[Grade] = []
        for student in students:
            answers = extractor.agent_extraction.get(student.name)
            for question in quiz.questions:
                if answers is None:
                    grades.append(_ungraded(quiz, student.name, question, None,
                                            f"answers not extracted: {extractor.agent_failures.get(student.name)}"))
                    continue
                answer = str(answers.get(question.id) or "").strip() or None
                grades.append(await self._grade_one(judge, classroom.name, quiz, student.name, question, answer))
        classroom.record_grades(grades)
        return grades

    def grade(self, classroom: TinyClassroom, quiz_id: str) -> list[Grade]:
        """Extract each student's answers to quiz ``quiz_id``, grade them, record the grades in
        ``classroom`` and return them (students' order, then the questions').

        Raises:
            InvalidArgument: no quiz ``quiz_id`` was given in the classroom.
            InvalidState: called from a coroutine on tinytroupe's event loop (await :meth:`agrade`).
        """
        return run_sync(self.agrade(classroom, quiz_id))

    async def _grade_one(self, judge: LLMClient, world: str, quiz: Quiz, student: str, question: QuizQuestion,
                         answer: str | None) -> Grade:
        base = {"quiz": quiz.id, "student": student, "question": question.id, "answer": answer,
                "points": question.points, "method": question.method}
        if question.answer is not None:
            score = grade_by_key(question, answer)
            why = "matches the answer key" if score else f"the key is {question.answer!r}"
            return Grade(**base, score=score, justification=why if answer else "no answer given")
        if answer is None:
            return Grade(**base, score=0.0, justification="no answer given")
        assert question.rubric is not None  # a question has a key or a rubric
        claim = f"The student's answer meets this rubric: {question.rubric}"
        context = f"Question: {question.text}\nStudent's answer: {answer}"
        try:
            verdict = await ajudge(judge, PropositionScore, claim, context, additional_context=f"Quiz {quiz.title!r}.",
                                   purpose="quiz_grading", agent=student, world=world)
        except LLMError as exc:
            return _ungraded(quiz, student, question, answer, f"the judge failed: {type(exc).__name__}: {exc}")
        return Grade(**base, score=round(question.points * verdict.value / _SCALE, 6),
                     justification=verdict.justification)


def quiz_extractor(quiz: Quiz, client: LLMClient | None = None) -> ResultsExtractor:
    """The extractor of the students' answers to ``quiz``: one text field per question (its id).

    Example:
        >>> from tinytroupe.environment import Quiz, QuizQuestion
        >>> sorted(quiz_extractor(Quiz(id="m", title="Sums", questions=[QuizQuestion(id="q1", text="2+2?",
        ...                                                                           answer="4")])).fields)
        ['q1']
    """
    fields = {q.id: FieldSpec(hint=f"the student's answer to {q.text!r}, as they gave it; empty text if they "
                                   "gave none") for q in quiz.questions}
    return ResultsExtractor(f"The answers each student gave to the quiz {quiz.title!r} ({quiz.id}).",
                            situation=quiz.text(), fields=fields, client=client)


def _ungraded(quiz: Quiz, student: str, question: QuizQuestion, answer: str | None, why: str) -> Grade:
    return Grade(quiz=quiz.id, student=student, question=question.id, answer=answer, score=None,
                 points=question.points, method=question.method, error=redact(why))


__all__ = ["QuizGrader", "quiz_extractor"]
