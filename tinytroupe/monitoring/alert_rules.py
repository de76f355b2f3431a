"""The memory monitor's alert rules: threshold (warning, critical), abnormal growth of semantic memory,
ineffective consolidation; each raised once per episode of its condition, then passed to every callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tinytroupe.monitoring.records import MemoryAlert, MemorySnapshot, Severity


class AlertRules:
    """Mixin of :class:`~tinytroupe.monitoring.MemoryMonitor`: checks a new snapshot and raises alerts."""

    if TYPE_CHECKING:
        alert_threshold: float
        critical_threshold: float
        growth_threshold: float
        growth_window: int
        min_compression: float
        max_alerts: int
        alerts: list[MemoryAlert]
        _alert_totals: dict[str, dict[tuple[str, str], int]]
        _callbacks: list[Callable[[MemoryAlert], Any]]
        _active: set[tuple[str, str]]
        _lock: threading.Lock

    def _raise(self, snap: MemorySnapshot, alert_type: str, severity: Severity, value: float, message: str) -> None:
        alert = MemoryAlert(timestamp=snap.timestamp, agent_name=snap.agent, alert_type=alert_type, severity=severity,
                            message=message, memory_stats=snap.figures(), value=value, step=snap.step)
        with self._lock:
            self.alerts.append(alert)
            if len(self.alerts) > self.max_alerts:
                del self.alerts[: len(self.alerts) - self.max_alerts]
            totals = self._alert_totals.setdefault(snap.agent, {})
            totals[(alert_type, severity)] = totals.get((alert_type, severity), 0) + 1
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(alert)

    def _once(self, agent: str, key: str, condition: bool) -> bool:
        """True the first time ``condition`` holds since it last did not (no alert storms)."""
        with self._lock:
            if condition and (agent, key) not in self._active:
                self._active.add((agent, key))
                return True
            if not condition:
                self._active.discard((agent, key))
            return False

    def _check_threshold(self, snap: MemorySnapshot) -> None:
        ratio = snap.usage_ratio
        text = f"{snap.agent}: episodic memory {ratio:.0%} full ({snap.episodic_size}/{snap.max_size})"
        critical = ratio >= self.critical_threshold
        if self._once(snap.agent, "threshold:critical", critical):
            self._raise(snap, "threshold", "critical", ratio,
                        f"{text}, at or over the critical threshold {self.critical_threshold:.0%}")
        warn = ratio >= self.alert_threshold
        # Straight to critical: the warning is implied, not raised as well.
        if self._once(snap.agent, "threshold:warning", warn) and not critical:
            self._raise(snap, "threshold", "warning", ratio,
                        f"{text}, at or over the alert threshold {self.alert_threshold:.0%}")

    def _check_growth(self, snap: MemorySnapshot, recent: list[MemorySnapshot]) -> None:
        if len(recent) <= self.growth_window:
            self._once(snap.agent, "growth", False)
            return
        first, last = recent[0].semantic_size, recent[-1].semantic_size
        growth = (last - first) / max(first, 1)
        if self._once(snap.agent, "growth", growth > self.growth_threshold and last - first >= 10):
            self._raise(snap, "abnormal_growth", "warning", growth,
                        f"{snap.agent}: semantic memory grew {growth:.0%} ({first} to {last}) over "
                        f"{self.growth_window} snapshots")

    def _check_consolidation(self, snap: MemorySnapshot) -> None:
        ratio = snap.items_out / snap.items_in if snap.items_in else 0.0
        if snap.items_in > 0 and (ratio > self.min_compression or snap.items_out == 0):
            what = "wrote no facts" if snap.items_out == 0 else f"wrote {ratio:.2f} facts per item"
            self._raise(snap, "ineffective_consolidation", "warning", ratio,
                        f"{snap.agent}: consolidation of {snap.items_in} items {what}")


__all__ = ["AlertRules"]
