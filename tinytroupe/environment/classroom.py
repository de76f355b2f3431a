"""``TinyClassroom``: a world with a teacher and students, lessons, questions, quizzes and grades.

* **Lessons** (:meth:`TinyClassroom.deliver_lesson`): each section reaches every student as the
  teacher speaking; the teacher keeps a thought of what was taught.
* **Questions**: a student's TALK with a question mark is a question to the teacher. The teacher's
  next TALK addressed to that student answers their oldest open question; one addressed to the whole
  class answers the oldest open question of anyone. Only questions asked in an earlier step count
  (in a parallel step nobody has heard this step's questions yet).
* **Quizzes** (:meth:`TinyClassroom.give_quiz`): the quiz reaches every student; they answer in their
  turns, and :class:`~tinytroupe.extraction.quiz_grading.QuizGrader` extracts each student's answers
  and grades them (by answer key where there is one, by rubric through an LLM judge otherwise), then
  records the grades here (:meth:`record_grades`).
* **Metrics** as DataFrames: participation (talks and questions per student) and scores.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> room = TinyClassroom("Room 101", teacher=TinyPerson("Ms Lee"), students=[TinyPerson("Ana")],
    ...                      initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> room.deliver_lesson(Lesson(title="Fractions", sections=["A half is one of two equal parts."]))
    >>> [i.content for i in room.get_agent_by_name("Ana").memory.items()]
    ['A half is one of two equal parts.']
    >>> room.participation_dataframe().to_dict("records")
    [{'student': 'Ana', 'talks': 0, 'questions': 0, 'answered': 0, 'share': 0.0}]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from tinytroupe.agent.actions import Action
from tinytroupe.agent.person import TinyPerson
from tinytroupe.environment.classroom_models import Grade, Lesson, Question, Quiz
from tinytroupe.environment.state_models import ClassroomState, WorldState
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument


class TinyClassroom(TinyWorld):
    """A :class:`TinyWorld` with a teacher and students (see the module docstring).

    Args:
        name: the classroom's name.
        teacher: the teacher (joins the classroom).
        students: the students.
        **kwargs: as :class:`TinyWorld`.
    """

    state_class = ClassroomState

    def __init__(self, name: str = "A TinyClassroom", teacher: TinyPerson | None = None,
                 students: Iterable[TinyPerson] = (), **kwargs: Any) -> None:
        self.teacher_name: str | None = None
        self.lessons: list[Lesson] = []
        self.questions: list[Question] = []
        self.quizzes: dict[str, Quiz] = {}
        self.grades: list[Grade] = []
        self.talks: dict[str, int] = {}
        super().__init__(name, list(students), **kwargs)
        if teacher is not None:
            self.set_teacher(teacher)

    # ------------------------------------------------------------------ people

    @property
    def teacher(self) -> TinyPerson | None:
        return self.get_agent_by_name(self.teacher_name) if self.teacher_name is not None else None

    @property
    def students(self) -> list[TinyPerson]:
        """Everyone but the teacher, in the order they joined."""
        return [a for a in self.agents if a.name != self.teacher_name]

    def set_teacher(self, agent: TinyPerson) -> TinyClassroom:
        """Make ``agent`` (added if new here) the teacher."""
        self.add_agent(agent)
        self.teacher_name = agent.name
        return self

    def _require_teacher(self, what: str) -> TinyPerson:
        teacher = self.teacher
        if teacher is None:
            raise InvalidArgument(f"classroom {self.name!r} has no teacher to {what}; call set_teacher first")
        return teacher

    # ------------------------------------------------------------------ lessons and quizzes

    def deliver_lesson(self, lesson: Lesson | str, sections: Iterable[str] = ()) -> None:
        """Teach ``lesson`` (a :class:`Lesson`, or a title with ``sections``): every student hears each
        section from the teacher.

        Raises:
            InvalidArgument: no teacher, or a lesson without sections.
        """
        teacher = self._require_teacher("deliver a lesson")
        given = lesson if isinstance(lesson, Lesson) else _lesson(lesson, list(sections))
        given = given.model_copy(update={"delivered_step": self.current_step})
        with self._recording_communications(), self._showing_communications():
            for section in given.sections:
                for student in self.students:
                    student.listen(section, teacher)
                teacher.think(f"I taught the class ({given.title}): {section}")
        self.lessons.append(given)

    def give_quiz(self, quiz: Quiz) -> Quiz:
        """Put ``quiz`` to every student (they answer in their next turns); grade it afterwards with
        :class:`~tinytroupe.extraction.quiz_grading.QuizGrader`.

        Raises:
            InvalidArgument: no teacher, or a quiz with this id was given already.
        """
        teacher = self._require_teacher("give a quiz")
        if quiz.id in self.quizzes:
            raise InvalidArgument(f"a quiz with id {quiz.id!r} was given already in {self.name}; use a new id")
        given = quiz.model_copy(update={"given_step": self.current_step}, deep=True)
        self.quizzes[given.id] = given
        with self._recording_communications(), self._showing_communications():
            for student in self.students:
                student.listen(given.text(), teacher)
        return given

    def quiz(self, quiz_id: str) -> Quiz:
        """The quiz given with ``quiz_id``.

        Raises:
            InvalidArgument: no such quiz was given (the message lists those that were).
        """
        if quiz_id not in self.quizzes:
            raise InvalidArgument(f"no quiz {quiz_id!r} was given in {self.name} (given: "
                                  f"{', '.join(self.quizzes) or 'none'})")
        return self.quizzes[quiz_id]

    def record_grades(self, grades: Iterable[Grade]) -> None:
        """Keep ``grades``, replacing earlier grades of the same quiz, student and question.

        Raises:
            InvalidArgument: a grade of a quiz not given here or of a question the quiz lacks.
        """
        grades = list(grades)
        for grade in grades:
            if grade.question not in {q.id for q in self.quiz(grade.quiz).questions}:
                raise InvalidArgument(f"quiz {grade.quiz!r} has no question {grade.question!r}")
        keys = {(g.quiz, g.student, g.question) for g in grades}
        self.grades = [g for g in self.grades if (g.quiz, g.student, g.question) not in keys] + grades

    # ------------------------------------------------------------------ routing: participation and questions

    def _handle_talk(self, source: TinyPerson, action: Action) -> None:
        super()._handle_talk(source, action)
        self.talks[source.name] = self.talks.get(source.name, 0) + 1
        step = self.current_step
        if source.name == self.teacher_name:
            open_ = [q for q in self.questions if q.answer is None and q.step < step]
            target = action.target.strip()
            mine = [q for q in open_ if q.student == target]
            chosen = mine[0] if mine else open_[0] if open_ and target not in self.name_to_agent else None
            if chosen is not None:
                chosen.answer, chosen.answered_step = action.content, step
        elif "?" in action.content:
            self.questions.append(Question(id=f"Q{len(self.questions) + 1}", student=source.name,
                                           text=action.content, step=step))

    # ------------------------------------------------------------------ metrics

    def metrics_tables(self) -> dict[str, pd.DataFrame]:
        """The tables ``tinytroupe run`` writes beside the results (``world_<name>.csv``)."""
        return {"participation": self.participation_dataframe(), "scores": self.scores_dataframe()}

    def participation_dataframe(self) -> pd.DataFrame:
        """One row per student: ``talks`` (TALK actions), ``questions`` asked, questions ``answered``
        and ``share`` of all the students' talks."""
        total = sum(self.talks.get(s.name, 0) for s in self.students)
        rows = [{"student": s.name, "talks": self.talks.get(s.name, 0),
                 "questions": sum(q.student == s.name for q in self.questions),
                 "answered": sum(q.student == s.name and q.answer is not None for q in self.questions),
                 "share": self.talks.get(s.name, 0) / total if total else 0.0} for s in self.students]
        return pd.DataFrame(rows, columns=["student", "talks", "questions", "answered", "share"])

    def scores_dataframe(self) -> pd.DataFrame:
        """One row per graded question: ``quiz, student, question, answer, score, points, method,
        justification, error``."""
        columns = list(Grade.model_fields)
        return pd.DataFrame([g.model_dump() for g in self.grades], columns=columns)

    def quiz_scores(self) -> pd.DataFrame:
        """One row per quiz and student: ``score`` (missing when a question could not be graded),
        ``points`` and ``percent``."""
        rows = []
        for quiz in self.quizzes.values():
            for student in sorted({g.student for g in self.grades if g.quiz == quiz.id}):
                mine = [g for g in self.grades if g.quiz == quiz.id and g.student == student]
                complete = len(mine) == len(quiz.questions) and all(g.score is not None for g in mine)
                score = sum(g.score or 0.0 for g in mine) if complete else None
                rows.append({"quiz": quiz.id, "student": student, "score": score, "points": quiz.points,
                             "percent": None if score is None else 100 * score / quiz.points})
        return pd.DataFrame(rows, columns=["quiz", "student", "score", "points", "percent"])

    # ------------------------------------------------------------------ state

    def state_model(self, include_agents: bool = True) -> ClassroomState:
        """The classroom's state: the world's plus its teacher, lessons, questions, quizzes, grades and talks."""
        return ClassroomState.model_construct(
            **self._state_fields(include_agents), teacher=self.teacher_name,
            lessons=[x.model_copy(deep=True) for x in self.lessons],
            questions=[x.model_copy(deep=True) for x in self.questions],
            quizzes=[x.model_copy(deep=True) for x in self.quizzes.values()],
            grades=[x.model_copy(deep=True) for x in self.grades], talks=dict(self.talks))

    def apply_state(self, state: WorldState) -> TinyClassroom:
        """Put the classroom in ``state``.

        Raises:
            InvalidArgument: the state is not a classroom's, or see :meth:`TinyWorld.apply_state`.
        """
        if not isinstance(state, ClassroomState):
            raise InvalidArgument(f"the state of {state.kind} {state.name!r} is not a classroom's (it has no "
                                  "teacher field), so it cannot be loaded into a TinyClassroom")
        super().apply_state(state)
        self.teacher_name = state.teacher
        self.lessons = [x.model_copy(deep=True) for x in state.lessons]
        self.questions = [x.model_copy(deep=True) for x in state.questions]
        self.quizzes = {x.id: x.model_copy(deep=True) for x in state.quizzes}
        self.grades = [x.model_copy(deep=True) for x in state.grades]
        self.talks = dict(state.talks)
        return self


def _lesson(title: str, sections: list[str]) -> Lesson:
    if not sections:
        raise InvalidArgument(f"the lesson {title!r} has no sections; pass sections=[...] or a Lesson")
    return Lesson(title=title, sections=sections)


__all__ = ["TinyClassroom"]
