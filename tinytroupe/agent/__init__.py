"""One simulated person: persona, perception, actions, cognition and memory.

Public names: TinyPerson, Persona, Fragment, Action, ActionBatch, ActionRegistry, CognitiveState,
StimulusType, EpisodicMemory, SemanticMemory, MemoryItem, MentalFaculty (TinyTroupe's TinyMentalFaculty),
DistributionAnswer (what ``TinyPerson.ask_distribution`` returns), and TinyToolUse (the faculty that gives
an agent tools, defined in :mod:`tinytroupe.tools.tool_use`; TinyTroupe has it among the faculties),
FilesAndWebGroundingFaculty (``LIST_DOCUMENTS`` and ``CONSULT`` over the agent's documents).
"""

from typing import Any

from tinytroupe.agent.actions import Action, ActionBatch, ActionRegistry, CognitiveState, StimulusType
from tinytroupe.agent.distribution import DistributionAnswer
from tinytroupe.agent.faculties import MentalFaculty, TinyMentalFaculty
from tinytroupe.agent.grounding_faculty import FilesAndWebGroundingFaculty
from tinytroupe.agent.memory import EpisodicMemory, MemoryItem, SemanticMemory
from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Fragment, Persona

__all__ = [
    "Action",
    "ActionBatch",
    "ActionRegistry",
    "CognitiveState",
    "DistributionAnswer",
    "EpisodicMemory",
    "FilesAndWebGroundingFaculty",
    "Fragment",
    "MemoryItem",
    "MentalFaculty",
    "Persona",
    "SemanticMemory",
    "StimulusType",
    "TinyMentalFaculty",
    "TinyPerson",
    "TinyToolUse",
]


def __getattr__(name: str) -> Any:
    # TinyToolUse lives with the tools, which build on agents: loaded on first use, so importing the
    # agent package does not load the tools.
    if name == "TinyToolUse":
        from tinytroupe.tools.tool_use import TinyToolUse

        return TinyToolUse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
