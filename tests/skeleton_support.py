"""The agent-turn schema that skeleton fill-in fills in the unit tests (a fake generator,
``tests/unit/test_skeleton.py``) and with the bundled model (``tests/integration/test_local_backend.py``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Action(BaseModel):
    type: Literal["TALK", "THINK", "DONE"]
    content: str
    target: str


class ActionBatch(BaseModel):
    actions: list[Action]
    goals: str
    emotions: str
