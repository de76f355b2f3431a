"""One simulated person: persona, perception, actions, cognition and memory.

Public names: TinyPerson, Persona, Fragment, Action, ActionBatch, ActionRegistry, CognitiveState,
StimulusType, EpisodicMemory, SemanticMemory, MemoryItem, MentalFaculty (TinyTroupe's TinyMentalFaculty),
DistributionAnswer (what ``TinyPerson.ask_distribution`` returns).
"""

from tinytroupe.agent.actions import Action, ActionBatch, ActionRegistry, CognitiveState, StimulusType
from tinytroupe.agent.distribution import DistributionAnswer
from tinytroupe.agent.faculties import MentalFaculty, TinyMentalFaculty
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
    "Fragment",
    "MemoryItem",
    "MentalFaculty",
    "Persona",
    "SemanticMemory",
    "StimulusType",
    "TinyMentalFaculty",
    "TinyPerson",
]
