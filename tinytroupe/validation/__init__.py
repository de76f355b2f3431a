"""Validation: checking simulated people against expectations, as TinyTroupe's ``tinytroupe.validation``
does: ``TinyPersonValidator`` (an interview, then a 0.0-1.0 score) and the predefined propositions
(:mod:`tinytroupe.validation.propositions`: persona adherence, self-consistency, fluency, ...).

Public names: TinyPersonValidator, propositions.

Example:
    >>> from tinytroupe.validation import TinyPersonValidator, propositions
    >>> propositions.persona_adherence.include_personas
    True
"""

from tinytroupe.validation import propositions
from tinytroupe.validation.tiny_person_validator import TinyPersonValidator

__all__ = ["TinyPersonValidator", "propositions"]
