"""What a classroom keeps as data: lessons, students' questions and their answers, quizzes with their
answer keys or rubrics, and grades; and grading by answer key.

A quiz question has either an ``answer`` (with ``accepted`` alternatives), graded by
:func:`grade_by_key` (case, spacing and end punctuation do not count; numbers compare as numbers), or
a ``rubric``, graded by an LLM judge (:class:`~tinytroupe.extraction.quiz_grading.QuizGrader`).

Example:
    >>> q = QuizQuestion(id="q1", text="What is 6 x 7?", answer="42", accepted=["forty-two"])
    >>> grade_by_key(q, " 42.0 "), grade_by_key(q, "Forty-two!"), grade_by_key(q, "41")
    (1.0, 1.0, 0.0)
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from tinytroupe.errors import InvalidArgument

#: a quiz question's id: also the name of the field extracted for it
QUESTION_ID = r"^[A-Za-z_][A-Za-z0-9_]{0,39}$"


class Lesson(BaseModel):
    """A lesson: a title and sections, each delivered as the teacher speaking to the class."""

    title: str = Field(min_length=1)
    sections: list[str] = Field(min_length=1)
    delivered_step: int | None = None


class Question(BaseModel):
    """A student's question (a TALK with a question mark) and the teacher's answer, once given."""

    id: str
    student: str
    text: str
    step: int
    answer: str | None = None
    answered_step: int | None = None


class QuizQuestion(BaseModel):
    """One question of a quiz: graded by ``answer`` (and ``accepted`` alternatives) or by ``rubric``."""

    id: str = Field(pattern=QUESTION_ID, description="letters, digits and _, e.g. q1")
    text: str = Field(min_length=1)
    answer: str | None = None
    accepted: list[str] = Field(default_factory=list)
    rubric: str | None = None
    points: float = Field(1.0, gt=0, le=1000)

    @model_validator(mode="after")
    def _one_way_to_grade(self) -> QuizQuestion:
        if (self.answer is None) == (self.rubric is None):
            raise ValueError(f"question {self.id!r} needs exactly one of 'answer' (graded by key) or 'rubric' "
                             "(graded by a judge)")
        if self.accepted and self.answer is None:
            raise ValueError(f"question {self.id!r}: 'accepted' alternatives go with an 'answer'")
        return self

    @property
    def method(self) -> Literal["key", "rubric"]:
        return "key" if self.answer is not None else "rubric"


class Quiz(BaseModel):
    """A quiz: an id, a title and its questions (ids unique)."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    questions: list[QuizQuestion] = Field(min_length=1)
    given_step: int | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> Quiz:
        ids = [q.id for q in self.questions]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"quiz {self.id!r} has question ids more than once: {', '.join(twice)}")
        return self

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions)

    def text(self) -> str:
        """The quiz as students read it."""
        lines = [f"Quiz {self.title!r} ({self.id}). Answer each question:"]
        lines += [f"{q.id}. {q.text}" for q in self.questions]
        return "\n".join(lines)


class Grade(BaseModel):
    """A student's grade on one quiz question: the extracted answer, the score out of ``points``, how it
    was graded, and why. ``error`` says why there is no score (the answer could not be extracted)."""

    quiz: str
    student: str
    question: str
    answer: str | None
    score: float | None
    points: float
    method: Literal["key", "rubric"]
    justification: str = ""
    error: str | None = None


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"\s+", " ", text)
    # end punctuation goes, a leading point stays (".5" is a number)
    return text.rstrip(" .!?;:,'\"").lstrip(" '\"")


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def grade_by_key(question: QuizQuestion, answer: str | None) -> float:
    """``question.points`` when ``answer`` matches the key or an accepted alternative, else 0.

    Raises:
        InvalidArgument: ``question`` has a rubric, not an answer key.
    """
    if question.answer is None:
        raise InvalidArgument(f"question {question.id!r} is graded by rubric, not by key")
    if answer is None or not answer.strip():
        return 0.0
    given = _normal(answer)
    for key in [question.answer, *question.accepted]:
        expected = _normal(key)
        if given == expected:
            return question.points
        a, b = _number(given), _number(expected)
        if a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b)):
            return question.points
    return 0.0


__all__ = ["QUESTION_ID", "Grade", "Lesson", "Question", "Quiz", "QuizQuestion", "grade_by_key"]
