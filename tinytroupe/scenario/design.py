"""The study-design sections of a scenario file: ``experiment:`` (arms, randomisation, replications,
seeds) and ``validation:`` (real data to compare the simulated answers with). Checked field by field
when loaded; the files they name are checked by :mod:`tinytroupe.scenario.design_files`, how they run
is :mod:`tinytroupe.scenario.experiment`'s and :mod:`tinytroupe.scenario.validate`'s.

Example:
    >>> spec = ExperimentSpec.model_validate({"arms": {"control": {}, "treatment": {"broadcast": "Half price!"}},
    ...                                       "replications": 2, "seeds": [1, 2]})
    >>> spec.control_arm, spec.seed_of(1, scenario_seed=None)
    ('control', 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tinytroupe.extraction.fields import FieldSpec


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


_Text = Annotated[str, AfterValidator(_not_blank)]
#: the names of tinytroupe.validation.metrics.METRICS (not imported: it loads scipy, and every
#: scenario load would pay for it; a test keeps the two lists equal)
Metric = Literal["tvd", "wasserstein_1", "js_divergence"]


def _all_metrics() -> list[Metric]:
    return ["tvd", "wasserstein_1", "js_divergence"]


class _Spec(BaseModel):
    # as the rest of the scenario model: no coercion, no unknown keys, no Infinity or NaN
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ArmSpec(_Spec):
    """What one arm changes: a message its agents hear before the script starts, and persona fields
    merged into each of its agents (``persona``, a fragment inline). The control arm is ``{}``."""

    broadcast: _Text | None = Field(None, description="heard by the arm's agents before the script")
    persona: dict[str, Any] | None = Field(None, min_length=1, description="persona fields merged into each agent")

    @model_validator(mode="after")
    def _no_rename(self) -> ArmSpec:
        if self.persona is not None and "name" in self.persona:
            raise ValueError("an arm cannot rename its agents; remove 'name' from its persona")
        return self


class ExperimentSpec(_Spec):
    """Arms compared on the extracted fields.

    ``randomisation``: ``split`` puts the agents in one world and assigns each to an arm (seeded,
    balanced: arm sizes differ by at most one); ``worlds`` runs every arm in a world of its own with
    all the agents (the same people in each arm). Each of ``replications`` runs does it again with the
    next seed of ``seeds`` (default: the scenario's seed plus the replication's index, or no seed).
    ``compare`` names the extracted fields tested between arms (default: every int, float, bool and
    choice field): Welch's t for numbers, chi-square for categories, each treatment against ``control``.
    """

    arms: dict[_Text, ArmSpec] = Field(min_length=2, max_length=20)
    control: _Text | None = Field(None, description="the control arm (default: the first)")
    randomisation: Literal["split", "worlds"] = "split"
    replications: int = Field(1, ge=1, le=100)
    seeds: list[int] | None = Field(None, min_length=1)
    compare: list[_Text] | None = Field(None, min_length=1)
    alpha: float = Field(0.05, gt=0, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentSpec:
        if self.control is not None and self.control not in self.arms:
            raise ValueError(f"control {self.control!r} is not one of the arms ({', '.join(self.arms)})")
        if self.seeds is not None and len(self.seeds) != self.replications:
            raise ValueError(f"{len(self.seeds)} seeds for {self.replications} replications: give one seed per "
                             "replication, or set 'replications' to the number of seeds")
        return self

    @property
    def control_arm(self) -> str:
        """The control arm's name."""
        return self.control or next(iter(self.arms))

    def seed_of(self, replication: int, *, scenario_seed: int | None) -> int | None:
        """The seed of replication ``replication`` (0-based)."""
        if self.seeds is not None:
            return self.seeds[replication]
        return None if scenario_seed is None else scenario_seed + replication


class ValidationSpec(_Spec):
    """Real answers to one question, compared with the simulated people's.

    ``data`` is a CSV file next to the scenario read by :func:`tinytroupe.validation.read_csv` with
    the column arguments given here. ``mode: distribution`` asks each agent for its probabilities over
    ``options`` after the script (:func:`~tinytroupe.extraction.ask_population_distribution`);
    ``mode: answers`` uses the extracted ``field`` (a choice field whose choices are the options).
    ``cell_field`` is the persona field (path) that places each agent in a cell of ``cell_column``.
    """

    data: _Text
    question: _Text
    options: list[_Text] = Field(min_length=2, max_length=50)
    answer_column: _Text | None = None
    option_column: _Text | None = None
    share_column: _Text | None = None
    count_column: _Text | None = None
    n_column: _Text | None = None
    cell_column: _Text | None = None
    percent: bool = False
    cell_field: _Text | None = Field(None, description="persona field path giving each agent's cell")
    mode: Literal["distribution", "answers"] = "distribution"
    field: _Text | None = Field(None, description="the extracted field holding each answer (mode: answers)")
    metrics: list[Metric] = Field(default_factory=lambda: _all_metrics(), min_length=1)
    no_persona_baseline: bool = False
    population_description: _Text | None = Field(None, description="who the no-persona baseline is asked about")

    @model_validator(mode="after")
    def _columns(self) -> ValidationSpec:
        raw, amount = self.answer_column is not None, [c for c in (self.share_column, self.count_column) if c]
        if raw == (self.option_column is not None) or (raw and amount) or (not raw and len(amount) != 1):
            raise ValueError("name either answer_column (one row per respondent), or option_column with exactly "
                             "one of share_column and count_column")
        if (self.cell_column is None) != (self.cell_field is None):
            raise ValueError("give cell_column (the data's cells) and cell_field (the persona field placing each "
                             "agent in one) together, or neither")
        if (self.mode == "answers") != (self.field is not None):
            raise ValueError("mode: answers needs 'field' (the extracted field holding each answer); "
                             "mode: distribution takes none")
        if len({o.strip().casefold() for o in self.options}) != len(self.options):
            raise ValueError("options must be distinct")
        return self

    def read_arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~tinytroupe.validation.read_csv` this spec gives."""
        keys = ("answer_column", "option_column", "share_column", "count_column", "n_column", "cell_column")
        return {"options": list(self.options), "percent": self.percent, "question": self.question,
                **{k: getattr(self, k) for k in keys if getattr(self, k) is not None}}


def comparable(spec: FieldSpec) -> Literal["numeric", "categorical"] | None:
    """How an extracted field is compared between arms: Welch's t (numbers), chi-square (categories)."""
    if spec.type in ("int", "float"):
        return "numeric"
    if spec.type == "bool" or spec.choices:
        return "categorical"
    return None


def design_problems(fields: Mapping[str, FieldSpec] | None, experiment: ExperimentSpec | None,
                    validation: ValidationSpec | None) -> list[tuple[tuple[int | str, ...], str]]:
    """``experiment.compare`` and ``validation.field`` must name extracted fields that can hold them."""
    problems: list[tuple[tuple[int | str, ...], str]] = []
    if experiment is not None:
        if fields is None:
            problems.append((("experiment",), "an experiment compares extracted fields: add an 'extraction' section"))
        for i, name in enumerate(experiment.compare or []):
            if fields is None:
                continue
            if name not in fields:
                problems.append((("experiment", "compare", i), f"no extracted field {name[:60]!r}; fields: "
                                                               f"{', '.join(fields) or 'none'}"))
            elif comparable(fields[name]) is None:
                problems.append((("experiment", "compare", i), f"{name!r} is free text; compare int, float, bool "
                                                               "or choice fields"))
    if experiment is not None and validation is not None:
        # which arm's people would be compared with the real data is a question this format does not answer yet
        problems.append((("validation",), "a scenario has an experiment or a validation, not both: run the "
                                          "validation in a scenario of its own"))
    v = validation
    if v is not None and v.field is not None:
        spec = (fields or {}).get(v.field)
        if spec is None:
            known = ", ".join(fields or {}) or "none (add an extraction section)"
            problems.append((("validation", "field"), f"no extracted field {v.field[:60]!r}; fields: {known}"))
        elif [c.casefold() for c in spec.choices or []] != [o.strip().casefold() for o in v.options]:
            problems.append((("validation", "field"), f"extraction field {v.field!r} must have choices equal to "
                                                      f"validation.options ({', '.join(v.options)}), in order"))
    return problems


__all__ = ["ArmSpec", "ExperimentSpec", "Metric", "ValidationSpec", "comparable", "design_problems"]
