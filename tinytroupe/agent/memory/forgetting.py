"""Forgetting: retention decays along an Ebbinghaus curve ``R = exp(-t / S)``.

``t`` is the simulated time (hours) since the memory was last retrieved (or formed); ``S`` is its
strength, which grows with importance and with each retrieval (rehearsal)::

    S = base_hours * (1 + importance_factor * (importance - 1)) * (1 + rehearsal_factor * retrievals)

A memory whose retention falls under ``floor`` leaves retrieval (it stays in the trace, and
semantic facts are kept, flagged ``forgotten``). Without simulated time nothing decays.

Example:
    >>> curve = ForgettingCurve(base_hours=10.0, importance_factor=0.0, rehearsal_factor=1.0)
    >>> round(float(curve.retention(10.0, 1.0, 0)), 3), round(float(curve.retention(10.0, 1.0, 1)), 3)
    (0.368, 0.607)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class ForgettingCurve:
    """Parameters of the curve (``[Memory] FORGETTING_*`` and ``RETENTION_FLOOR``)."""

    base_hours: float = 72.0
    importance_factor: float = 1.0
    rehearsal_factor: float = 0.5
    floor: float = 0.05
    enabled: bool = True

    def strength(self, importance: npt.ArrayLike, retrievals: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Hours for retention to fall to 1/e."""
        imp = np.clip(np.asarray(importance, dtype=np.float64), 1.0, 10.0)
        reps = np.maximum(np.asarray(retrievals, dtype=np.float64), 0.0)
        return self.base_hours * (1.0 + self.importance_factor * (imp - 1.0)) * (1.0 + self.rehearsal_factor * reps)

    def retention(self, age_hours: npt.ArrayLike, importance: npt.ArrayLike,
                  retrievals: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Retention in [0, 1]; unknown ages (NaN) and negative ages count as fresh (1.0)."""
        age = np.asarray(age_hours, dtype=np.float64)
        age = np.where(np.isnan(age) | (age < 0), 0.0, age)
        return np.exp(-age / self.strength(importance, retrievals))

    def retained(self, age_hours: npt.ArrayLike, importance: npt.ArrayLike,
                 retrievals: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which memories are still retrievable (all of them when forgetting is off)."""
        age = np.asarray(age_hours, dtype=np.float64)
        if not self.enabled:
            return np.ones(age.shape, dtype=np.bool_)
        return self.retention(age, importance, retrievals) >= self.floor


__all__ = ["ForgettingCurve"]
