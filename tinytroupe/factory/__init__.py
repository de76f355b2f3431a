"""Populations of simulated people: ``TinyPersonFactory``, sampling plans, calibration to demographics.

A factory makes a :class:`SamplingPlan` once (one LLM call from a description, or given as data: a
mapping, a YAML/JSON file, census shares in a CSV), draws each person's characteristics from it by
code with the run's seeded generator, and writes each person with one structured LLM call, all in
flight together. Populations drawn from target shares come with a :class:`CalibrationReport`.
See ``docs/populations.md``.

Public names: TinyPersonFactory, SamplingPlan, Dimension, Option, NumericRange, JointDistribution,
Cell, CalibrationReport, calibration_report, draw_characteristics, read_shares_csv, load_plan,
offline_backend (a scripted stand-in model for tests and demos),
GeneratedPersona, and the errors PopulationGenerationError and PersonFailure (from
:mod:`tinytroupe.errors`).
"""

from tinytroupe.errors import PersonFailure, PopulationGenerationError
from tinytroupe.factory.calibration import CalibrationReport, calibration_report
from tinytroupe.factory.cells import Cell, JointDistribution
from tinytroupe.factory.offline import offline_backend
from tinytroupe.factory.person_factory import TinyPersonFactory
from tinytroupe.factory.persona_schema import GeneratedPersona
from tinytroupe.factory.plan import Dimension, NumericRange, Option, SamplingPlan
from tinytroupe.factory.plan_files import load_plan
from tinytroupe.factory.sampling import draw_characteristics
from tinytroupe.factory.shares_csv import read_shares_csv

__all__ = [
    "CalibrationReport",
    "Cell",
    "Dimension",
    "GeneratedPersona",
    "JointDistribution",
    "NumericRange",
    "Option",
    "PersonFailure",
    "PopulationGenerationError",
    "SamplingPlan",
    "TinyPersonFactory",
    "calibration_report",
    "draw_characteristics",
    "load_plan",
    "offline_backend",
    "read_shares_csv",
]
