"""The files a scenario's population and validation name, checked when the scenario is loaded (before
any model call): that each exists next to the scenario and parses (census shares with the factory's
readers, real answers with :func:`~tinytroupe.validation.read_csv`, whose options must be the
scenario's). Each problem is reported at the scenario's line, with the data file's own file, row and
field in the message.
"""

from __future__ import annotations

from pathlib import Path

from tinytroupe.errors import InvalidArgument, ScenarioError
from tinytroupe.factory.demography import demography_inputs
from tinytroupe.scenario.model import Loc, Scenario


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _message(exc: Exception) -> str:
    lines = str(exc).splitlines()
    # ScenarioError lists its problems below an "invalid ..." head: keep the first problem, where it is
    return next((line for line in lines if ":" in line and not line.endswith(":")), lines[0] if lines else "")


def design_file_problems(scenario: Scenario, path: Path) -> list[tuple[Loc, str]]:
    """Problems with ``population.from_demographics`` and ``validation.data`` of ``scenario`` (read
    from ``path``), each ``(location in the scenario, message naming the data file's row and field)``.

    Example:
        >>> s = Scenario.model_validate({"name": "x", "population": {"from_demographics": "none.csv", "size": 2},
        ...                              "script": [{"run": 1}]})
        >>> design_file_problems(s, Path("/tmp/study.yaml"))
        [(('population', 'from_demographics'), "file 'none.csv' not found next to study.yaml")]
    """
    problems: list[tuple[Loc, str]] = []
    pop = scenario.population
    if pop is not None and pop.from_demographics is not None:
        target = path.parent / pop.from_demographics
        loc: Loc = ("population", "from_demographics")
        if not _is_file(target):
            problems.append((loc, f"file {pop.from_demographics!r} not found next to {path.name}"))
        else:
            try:
                demography_inputs(target)
            except (ScenarioError, InvalidArgument) as exc:
                problems.append((loc, _message(exc)))
    v = scenario.validation
    if v is not None:
        from tinytroupe.validation.data_files import read_csv  # scipy: loaded only for a validation

        target = path.parent / v.data
        if not _is_file(target):
            problems.append((("validation", "data"), f"file {v.data!r} not found next to {path.name}"))
        else:
            try:
                read_csv(target, **v.read_arguments())
            except InvalidArgument as exc:  # DataFileError names the file, row and column
                problems.append((("validation", "data"), _message(exc)))
    return problems


__all__ = ["design_file_problems"]
