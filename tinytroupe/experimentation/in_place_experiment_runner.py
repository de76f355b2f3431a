"""``InPlaceExperimentRunner``: A/B experiments run "in place", from the same notebook or script.

Two ways to run the arms, both kept in one JSON file so that a notebook can be re-run:

* **One arm per run** (TinyTroupe's idiom): add the experiments ("Control", "Treatment"), call
  :meth:`~InPlaceExperimentRunner.activate_next_experiment`, let the code branch on
  :meth:`~InPlaceExperimentRunner.get_active_experiment`, store results, re-run the notebook for the
  next arm; at the end :meth:`~InPlaceExperimentRunner.run_statistical_tests` compares them.
* **Both arms in one world** (ours): :meth:`~InPlaceExperimentRunner.assign_agents` splits a world's
  agents into the arms at random (balanced, seeded, remembered in the file), each arm gets its own
  stimulus, and :meth:`~InPlaceExperimentRunner.add_agent_results` files every agent's answers under
  its arm. Control and treatment then share the world's clock, history and conditions.

Where we differ on purpose: the file is written atomically (a crash mid-write keeps the old one), a
damaged file is an error naming it (not silently replaced), an unknown experiment is a ``NotFound``,
and test results are stored as plain JSON of :class:`~tinytroupe.experimentation.StatisticalTestResult`.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "exp.json"
    >>> runner = InPlaceExperimentRunner(str(path))
    >>> runner.add_experiment("Control"); runner.add_experiment("Treatment")
    >>> arms = runner.assign_agents(["Ana", "Bo", "Cy", "Di"], seed=3)
    >>> sorted(len(names) for names in arms.values())
    [2, 2]
    >>> runner.add_agent_results({"Ana": {"rating": 6}, "Bo": {"rating": 7}, "Cy": {"rating": 8}, "Di": {"rating": 9}})
    >>> sum(len(runner.get_experiment_results(name)["rating"]) for name in arms)
    4
    >>> InPlaceExperimentRunner(str(path)).experiment_of("Ana") == runner.experiment_of("Ana")  # kept in the file
    True
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tinytroupe.context import current_context
from tinytroupe.errors import InvalidArgument, InvalidState, NotFound, StorageError
from tinytroupe.experimentation.hypothesis_tests import StatisticalTestResult
from tinytroupe.experimentation.statistical_tests import StatisticalTester

logger = logging.getLogger(__name__)


def _default_config() -> dict[str, Any]:
    return {"experiments": {}, "active_experiment": None, "finished_all_experiments": False,
            "finished_experiments": [], "assignments": {}}


def _name_of(agent: Any) -> str:
    name = agent if isinstance(agent, str) else getattr(agent, "name", None)
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"an agent must be a name or have a .name, got {agent!r}")
    return name


class InPlaceExperimentRunner:
    """Experiments whose state lives in a JSON file, so a notebook can be re-run once per arm.

    Args:
        config_file_path: the JSON file; loaded when it exists (delete it to start over), else created.

    Raises:
        StorageError: the file exists but is not a valid experiment file, or cannot be written.
    """

    def __init__(self, config_file_path: str = "experiment_config.json") -> None:
        self.config_file_path = config_file_path
        self.experiment_config = self._load_or_create_config(config_file_path)
        self._save_config()

    # -- experiments, TinyTroupe's API -----------------------------------------------------------------

    def add_experiment(self, experiment_name: str) -> None:
        """Add an experiment (an arm); adding one that exists changes nothing."""
        if experiment_name in self.experiment_config["experiments"]:
            logger.info("experiment %r already exists, nothing to add", experiment_name)
            return
        self.experiment_config["experiments"][experiment_name] = {}
        self.experiment_config["finished_all_experiments"] = False
        self._save_config()

    def activate_next_experiment(self) -> None:
        """Finish the active experiment (if any) and activate the next unfinished one, in the order added.

        Raises:
            InvalidState: there are no experiments.
        """
        config = self.experiment_config
        if config["finished_all_experiments"]:
            logger.info("all experiments are finished; none to activate")
            return
        names = list(config["experiments"])
        if not names:
            raise InvalidState("no experiments to activate; call add_experiment(name) first")
        current = config.get("active_experiment")
        if current and current not in config["finished_experiments"]:
            config["finished_experiments"].append(current)
        start = names.index(current) + 1 if current in names else 0
        following = [n for n in names[start:] + names[:start] if n not in config["finished_experiments"]]
        config["active_experiment"] = following[0] if following else None
        config["finished_all_experiments"] = not following
        self._save_config()

    def fix_active_experiment(self, experiment_name: str) -> None:
        """Make ``experiment_name`` the active experiment, whatever was active or finished."""
        self._require(experiment_name)
        self.experiment_config["active_experiment"] = experiment_name
        self.experiment_config["finished_all_experiments"] = False
        self._save_config()

    def get_active_experiment(self) -> str | None:
        """The name of the active experiment (None before the first activation and after the last)."""
        active: str | None = self.experiment_config.get("active_experiment")
        return active

    def get_unfinished_experiments(self) -> list[str]:
        """The experiments not finished yet, in the order added."""
        done = set(self.experiment_config["finished_experiments"])
        return [n for n in self.experiment_config["experiments"] if n not in done]

    def has_finished_all_experiments(self) -> bool:
        """Whether every experiment has been finished."""
        return bool(self.experiment_config.get("finished_all_experiments", False))

    def finish_active_experiment(self) -> bool:
        """Finish the active experiment without activating another; False when none was active."""
        current = self.get_active_experiment()
        if not current:
            logger.info("no active experiment to finish")
            return False
        config = self.experiment_config
        if current not in config["finished_experiments"]:
            config["finished_experiments"].append(current)
        config["active_experiment"] = None
        config["finished_all_experiments"] = not self.get_unfinished_experiments()
        self._save_config()
        return True

    def add_experiment_results(self, results: Mapping[str, Any], experiment_name: str | None = None,
                               merge: bool = True) -> None:
        """Store ``{metric: values}`` for an experiment (the active one when no name is given).

        With ``merge`` a metric's new values are appended to those stored (a list extends them, a
        single value is added), so results can come in batches; without it they replace them.

        Raises:
            InvalidState: no name given and no experiment is active.
            NotFound: no experiment of that name.
        """
        name = experiment_name if experiment_name is not None else self.get_active_experiment()
        if name is None:
            raise InvalidState("no active experiment to add results to; activate one or pass experiment_name")
        stored = self._require(name).setdefault("results", {})
        for metric, values in results.items():
            new = list(values) if isinstance(values, list | tuple) else [values]
            if merge and metric in stored:
                old = stored[metric] if isinstance(stored[metric], list) else [stored[metric]]
                stored[metric] = old + new
            else:
                stored[metric] = new if isinstance(values, list | tuple) or merge else values
        self._save_config()

    def get_experiment_results(self, experiment_name: str | None = None) -> dict[str, Any]:
        """The results of one experiment, or ``{name: results}`` of all when no name is given."""
        if experiment_name is None:
            return {n: e.get("results", {}) for n, e in self.experiment_config["experiments"].items()}
        results: dict[str, Any] = self._require(experiment_name).get("results", {})
        return results

    def run_statistical_tests(self, control_experiment_name: str, test_type: str = "welch_t_test",
                              alpha: float = 0.05, **kwargs: Any) -> dict[str, dict[str, StatisticalTestResult]]:
        """Compare every other experiment with the control (see :class:`StatisticalTester`), store and return.

        Returns:
            ``{treatment: {metric: StatisticalTestResult}}``; the file keeps them as JSON under the
            control's ``statistical_test_results_vs_others``.

        Raises:
            NotFound: no such control experiment.
            InvalidArgument: the control, or every other experiment, has no results yet.
        """
        control = self._require(control_experiment_name)
        others = {n: e for n, e in self.experiment_config["experiments"].items()
                  if n != control_experiment_name and e.get("results")}
        if not control.get("results"):
            raise InvalidArgument(f"control {control_experiment_name!r} has no results yet")
        if not others:
            raise InvalidArgument(f"no experiment other than {control_experiment_name!r} has results yet")
        tester = StatisticalTester({control_experiment_name: control}, others, results_key="results")
        results = tester.run_test(test_type, alpha, **kwargs)
        control["statistical_test_results_vs_others"] = {
            t: {m: r.model_dump(mode="json") for m, r in by_metric.items()} for t, by_metric in results.items()}
        self._save_config()
        return results

    # -- both arms in one world --------------------------------------------------------------------

    def assign_agents(self, agents: Iterable[Any], *, seed: int | None = None,
                      experiments: Iterable[str] | None = None) -> dict[str, list[str]]:
        """Split agents (or names) into the experiments at random, balanced, and remember it.

        Agents assigned before keep their arm (so a re-run of the notebook gives the same split);
        new ones go, in a seeded random order, each to the arm with fewest members so far.

        Args:
            agents: TinyPerson objects or names (names must be distinct).
            seed: the seed of the split; default the run context's seed (``control.begin(seed=...)``).
            experiments: the arms, default every experiment added.

        Returns:
            ``{experiment: [agent names]}`` for every arm, all agents ever assigned included.

        Raises:
            InvalidArgument: no seed given and none in the run context, duplicate names, fewer than
                two arms.
        """
        names = [_name_of(a) for a in agents]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"agent names must be distinct to be assigned, got duplicates in {names}")
        arms = list(experiments) if experiments is not None else list(self.experiment_config["experiments"])
        if len(arms) < 2:
            raise InvalidArgument(f"assigning agents needs at least two experiments, got {arms}")
        for arm in arms:
            self._require(arm)
        seed = seed if seed is not None else current_context().seed
        if seed is None:
            raise InvalidArgument("assign_agents needs a seed: pass seed=..., or run inside control.begin(seed=...)")
        assigned: dict[str, str] = self.experiment_config.setdefault("assignments", {})
        new = [n for n in names if n not in assigned]
        rng = np.random.default_rng([int(seed), len(assigned)])
        for index in rng.permutation(len(new)):
            sizes = {arm: sum(1 for a in assigned.values() if a == arm) for arm in arms}
            assigned[new[index]] = min(arms, key=lambda arm: sizes[arm])  # ties: the first added
        self._save_config()
        return {arm: [n for n, a in assigned.items() if a == arm] for arm in arms}

    def experiment_of(self, agent: Any) -> str:
        """The experiment an agent (or name) was assigned to.

        Raises:
            NotFound: the agent was never assigned.
        """
        name = _name_of(agent)
        found = self.experiment_config.get("assignments", {}).get(name)
        if found is None:
            raise NotFound(f"agent {name!r} was never assigned; call assign_agents([...]) first")
        return str(found)

    def agents_in(self, experiment_name: str, agents: Iterable[Any]) -> list[Any]:
        """Those of ``agents`` assigned to ``experiment_name``, in their order (e.g. to broadcast to them)."""
        self._require(experiment_name)
        return [a for a in agents if self.experiment_config["assignments"].get(_name_of(a)) == experiment_name]

    def add_agent_results(self, results_by_agent: Mapping[str, Mapping[str, Any]]) -> None:
        """File each agent's ``{metric: value}`` under its arm (merged with what is stored).

        Raises:
            NotFound: an agent that was never assigned (nothing is stored then).
        """
        by_arm: dict[str, dict[str, list[Any]]] = {}
        for agent, fields in results_by_agent.items():
            arm = self.experiment_of(agent)
            for metric, value in fields.items():
                by_arm.setdefault(arm, {}).setdefault(metric, []).append(value)
        for arm, results in by_arm.items():
            self.add_experiment_results(results, arm, merge=True)

    # -- the file ------------------------------------------------------------------------------------

    def _require(self, experiment_name: str) -> dict[str, Any]:
        found: dict[str, Any] | None = self.experiment_config["experiments"].get(experiment_name)
        if found is None:
            known = ", ".join(self.experiment_config["experiments"]) or "none"
            raise NotFound(f"no experiment {experiment_name!r} (experiments: {known}); add_experiment it first")
        return found

    def _load_or_create_config(self, config_file_path: str) -> dict[str, Any]:
        path = Path(config_file_path)
        if not path.exists():
            return _default_config()
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StorageError(f"experiment file {path} cannot be read ({exc}); fix or delete it",
                               path=str(path), cause_kind="corrupt") from exc
        if not isinstance(config, dict) or not isinstance(config.get("experiments"), dict):
            raise StorageError(f"{path} is not an experiment file (no 'experiments' object); fix or delete it",
                               path=str(path), cause_kind="corrupt")
        logger.info("experiment file %s loaded; delete it to run the experiments again from the start", path)
        return {**_default_config(), **config}

    def _save_config(self) -> None:
        path = Path(self.config_file_path)
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self.experiment_config, out, indent=2)
            os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half of one
        except OSError as exc:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
            raise StorageError(f"cannot write experiment file {path}: {exc}", path=str(path)) from exc


__all__ = ["InPlaceExperimentRunner"]
