"""Real public data shipped as examples for empirical validation (sources and licences in
``tinytroupe/examples/data/SOURCE.md``).

``anes1996_self_placement``: 944 respondents of the American National Election Studies 1996 (a
public-domain subset redistributed by statsmodels), each with a party identification and a
self-placement on the 7-point liberal–conservative scale.

Example:
    >>> real = load_anes1996_self_placement()
    >>> real.cell_data(None).n, real.cells()[:2]
    (944, ['Strong Democrat', 'Weak Democrat'])
    >>> [int(c) for c in real.cell_data(None).counts]
    [16, 103, 147, 256, 170, 218, 34]
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tinytroupe.errors import DataFileError
from tinytroupe.validation.data_files import read_csv
from tinytroupe.validation.dataset import SimulationExperimentDataset

ANES1996_OPTIONS = ("Extremely liberal", "Liberal", "Slightly liberal", "Moderate", "Slightly conservative",
                    "Conservative", "Extremely conservative")
ANES1996_PARTY_IDS = ("Strong Democrat", "Weak Democrat", "Independent-Democrat", "Independent-Independent",
                      "Independent-Republican", "Weak Republican", "Strong Republican")
#: our paraphrase of the scale, not the ANES questionnaire's wording
ANES1996_QUESTION = ("Where would you place yourself on a scale of political views from extremely liberal to "
                     "extremely conservative?")
ANES1996_SOURCE = ("American National Election Studies 1996, subset of 944 respondents as shipped by statsmodels "
                   "0.15.0 (datasets/anes96; public domain). See tinytroupe/examples/data/SOURCE.md.")


def example_data_path(name: str) -> Path:
    """The path of a bundled example data file, e.g. ``"anes1996_self_placement.csv"``.

    Raises:
        DataFileError: no such file.
    """
    path = Path(str(resources.files("tinytroupe.examples").joinpath("data", name)))
    if not path.is_file():
        raise DataFileError("no such example data file", path=str(path))
    return path


def load_anes1996_self_placement(cell_column: str | None = "party_id") -> SimulationExperimentDataset:
    """The ANES 1996 self-placements as raw answers, in cells of ``cell_column`` (``"party_id"``,
    ``"expected_vote"`` or None for none)."""
    return read_csv(example_data_path("anes1996_self_placement.csv"), options=ANES1996_OPTIONS,
                    answer_column="self_placement", cell_column=cell_column, agent_column="respondent",
                    name="ANES 1996 (subset)", question=ANES1996_QUESTION, source=ANES1996_SOURCE,
                    cell_order=list(ANES1996_PARTY_IDS) if cell_column == "party_id" else None)


__all__ = ["ANES1996_OPTIONS", "ANES1996_PARTY_IDS", "ANES1996_QUESTION", "ANES1996_SOURCE", "example_data_path",
           "load_anes1996_self_placement"]
