"""What the scenario-file tests share: writing a scenario file and catching the error loading it raises."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from tinytroupe.errors import ScenarioError
from tinytroupe.scenario import load_scenario


def write(folder: Path, text: str, name: str = "scenario.yaml") -> Path:
    """``text`` (dedented) as the file ``name`` in ``folder``; its path."""
    path = folder / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def error_of(path: Path) -> ScenarioError:
    """The :class:`ScenarioError` that loading ``path`` raises (the test fails if it loads)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value
