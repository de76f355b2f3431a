"""Kept at this import path for scripts that use it: replay checking now lives in
:mod:`tinytroupe.llm.replay`, beside the other backend wrappers."""

from tinytroupe.llm.replay import Divergence, ReplayRecorder, describe_difference, stream_of

__all__ = ["Divergence", "ReplayRecorder", "describe_difference", "stream_of"]
