"""Experimentation: claims judged against simulations (``Proposition``), as TinyTroupe's
``tinytroupe.experimentation`` has them.

Public names: Proposition, check_proposition, compute_score, acheck_proposition, acompute_score.

Example:
    >>> from tinytroupe.experimentation import Proposition
    >>> Proposition("The agents agree.").MAX_SCORE
    9
"""

from tinytroupe.experimentation.proposition import (
    Proposition,
    acheck_proposition,
    acompute_score,
    check_proposition,
    compute_score,
)

__all__ = ["Proposition", "acheck_proposition", "acompute_score", "check_proposition", "compute_score"]
