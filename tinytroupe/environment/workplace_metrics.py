"""A workplace's metrics as pandas DataFrames: its tasks, their statuses step by step, and the messages
its people exchanged, counted by reporting line.

Example:
    >>> from datetime import datetime
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorkplace
    >>> office = TinyWorkplace("Office", initial_datetime=datetime(2025, 1, 6, 9), communication_display=False)
    >>> _ = office.add_employee(TinyPerson("Ana"), "lead").add_employee(TinyPerson("Ben"), "dev", reports_to="Ana")
    >>> _ = office.assign_task("Ana", "Ben", "Write the report")
    >>> office.task_status_over_time().loc[0].to_dict()
    {'todo': 1, 'doing': 0, 'done': 0, 'blocked': 0}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from tinytroupe.environment.org_chart import LINES
from tinytroupe.environment.workplace_models import TASK_STATUSES, MessageRecord, Task


class WorkplaceMetrics:
    """Mixin of :class:`~tinytroupe.environment.workplace.TinyWorkplace`: its metrics as DataFrames."""

    if TYPE_CHECKING:
        tasks: dict[str, Task]
        messages: list[MessageRecord]

        @property
        def current_step(self) -> int: ...

    def metrics_tables(self) -> dict[str, pd.DataFrame]:
        """The tables ``tinytroupe run`` writes beside the results (``world_<name>.csv``)."""
        return {"tasks": self.tasks_dataframe(), "task_status": self.task_status_over_time(),
                "messages_by_line": self.messages_by_line()}

    def tasks_dataframe(self) -> pd.DataFrame:
        """One row per task: ``id, title, assigner, assignee, status, created_step, updates, done_step``
        (``done_step``: when it last became done; missing while it is not done)."""
        rows = []
        for task in self.tasks.values():
            done = [u.step for u in task.history if u.status == "done"]
            rows.append({"id": task.id, "title": task.title, "assigner": task.assigner, "assignee": task.assignee,
                         "status": task.status, "created_step": task.history[0].step,
                         "updates": len(task.history) - 1,
                         "done_step": done[-1] if done and task.status == "done" else None})
        columns = ["id", "title", "assigner", "assignee", "status", "created_step", "updates", "done_step"]
        return pd.DataFrame(rows, columns=columns).astype({"done_step": "Int64"})

    def task_status_over_time(self) -> pd.DataFrame:
        """How many tasks were in each status at the end of each step, from step 0 (before the first
        run) to now: index ``step``, one column per status."""
        steps = range(self.current_step + 1)
        counts = {status: [0] * len(steps) for status in TASK_STATUSES}
        for task in self.tasks.values():
            for step in steps:
                status = task.status_at(step)
                if status is not None:
                    counts[status][step] += 1
        return pd.DataFrame(counts, index=pd.Index(list(steps), name="step"))

    def messages_dataframe(self) -> pd.DataFrame:
        """One row per delivered message: ``step, source, target, line, meeting``."""
        return pd.DataFrame([m.model_dump() for m in self.messages],
                            columns=["step", "source", "target", "line", "meeting"])

    def messages_by_line(self) -> pd.DataFrame:
        """Messages per step by reporting line (from the speaker's side: ``manager`` is a message to
        one's manager), plus ``in_meeting`` (those said in a meeting, counted in their line too)."""
        steps = list(range(1, self.current_step + 1))
        columns = [*LINES, "in_meeting"]
        counts = {column: dict.fromkeys(steps, 0) for column in columns}
        for m in self.messages:
            if m.step in counts["other"] and m.line in counts:
                counts[m.line][m.step] += 1
                if m.meeting is not None:
                    counts["in_meeting"][m.step] += 1
        return pd.DataFrame({c: [counts[c][s] for s in steps] for c in columns}, index=pd.Index(steps, name="step"))


__all__ = ["WorkplaceMetrics"]
