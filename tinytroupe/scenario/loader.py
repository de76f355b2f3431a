"""Reading a scenario file: YAML within bounds, the model's checks, then the references (personas,
fragments, agent names) that only the file's folder and the examples can answer, every problem with
its file, line and field.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml
from pydantic import ValidationError

from tinytroupe.agent.person import TinyPerson
from tinytroupe.agent.persona import Fragment, Persona, load_persona_file
from tinytroupe.errors import ScenarioError
from tinytroupe.examples import (
    list_example_fragments,
    list_example_personas,
    load_example_fragment,
    load_example_persona,
)
from tinytroupe.extraction.fields import FieldSpec
from tinytroupe.safe_load import SCENARIO_LIMITS, InputProblem, load_yaml, read_text, yaml_node_line
from tinytroupe.scenario.design import ArmSpec, ExperimentSpec, ValidationSpec
from tinytroupe.scenario.design_files import design_file_problems
from tinytroupe.scenario.grounding import DocumentsSpec, ImageSpec, consult_problems, file_problems
from tinytroupe.scenario.market_spec import market_name_problems
from tinytroupe.scenario.model import (
    AgentEntry,
    BackendSpec,
    ExtractionSpec,
    Loc,
    Population,
    Scenario,
    ScriptItem,
    WorldSpec,
    _Located,
    _short,
)
from tinytroupe.scenario.model_base import _MAX_REPORTED
from tinytroupe.scenario.population_model import FactorySpec
from tinytroupe.scenario.tools import ToolSpec, tool_problems
from tinytroupe.scenario.workplace_classroom import reference_problems as workplace_classroom_problems

_FIELD_NAMES = sorted({name for model in (Scenario, AgentEntry, Population, ScriptItem, WorldSpec, ExtractionSpec,
                                         BackendSpec, FieldSpec, FactorySpec, ExperimentSpec, ArmSpec, ValidationSpec,
                                         ToolSpec, DocumentsSpec, ImageSpec)
                        for name in model.model_fields})


def _close_match(word: str, choices: list[str]) -> str | None:
    # difflib is quadratic in the word's length; no typo of a real name is 100 characters long.
    if len(word) > 100:
        return None
    near = difflib.get_close_matches(word, choices, n=1)
    return near[0] if near else None


def _raise_problems(path: Path, root: yaml.Node | None, problems: list[tuple[Loc, str]]) -> None:
    """One ScenarioError listing ``problems`` (location, message) as ``file:line: field: message``."""
    lines = []
    first: tuple[int | None, str] | None = None
    for loc, message in problems[:_MAX_REPORTED]:
        field = ".".join(str(x) for x in loc) or "(top level)"
        line = yaml_node_line(root, loc)
        first = first or (line, field)
        lines.append(f"{path}:{line}: {field}: {message}")
    if len(problems) > _MAX_REPORTED:
        lines.append(f"... and {len(problems) - _MAX_REPORTED} more problems")
    assert first is not None
    raise ScenarioError("invalid scenario:\n" + "\n".join(lines), path=str(path), line=first[0], field=first[1])


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, line and field.

    Everything that can be checked before the first model call is checked here: the YAML (UTF-8,
    no duplicate keys, sizes, nesting and aliases bounded: see :mod:`tinytroupe.safe_load`), every
    field's type and range, the personas (inline, files, examples, fragments and a population's
    base and options), agent names in the script and relations, extraction field names, the tools
    (names, classes that import, arguments that fit), the documents (each file readable, each folder
    with something readable) and images, that agents asked to ``consult`` have documents, and that
    the simulated clock stays within the dates Python can hold.

    Raises:
        ScenarioError: with ``path``, ``line`` and ``field`` of the first problem; the message lists
            up to 20 problems, one per line, as ``file:line: field: what is wrong``.
    """
    p = Path(path)
    try:
        data, root = load_yaml(read_text(p, SCENARIO_LIMITS), SCENARIO_LIMITS)
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {p} does not exist; check the path", path=str(p)) from None
    except InputProblem as problem:
        at = f":{problem.line}" if problem.line is not None else ""
        raise ScenarioError(f"{p}{at}: {problem.reason}", path=str(p), line=problem.line) from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}: a scenario is a YAML mapping with keys such as name, agents, script",
                            path=str(p), line=1)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[Loc, str]] = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, _Located):
                problems += [((*loc, *sub), message) for sub, message in cause.problems]
                continue
            msg = err["msg"].removeprefix("Value error, ")
            if loc and loc[-1] == "[key]":  # pydantic's marker for a bad mapping key
                loc, msg = loc[:-1], f"the key {msg}"
            if err["type"] == "extra_forbidden":
                near = _close_match(str(loc[-1]), _FIELD_NAMES)
                msg = "unknown field" + (f"; did you mean {near!r}?" if near else "") + (
                    " (see the scenario format in the README)")
            problems.append((loc, msg))
        _raise_problems(p, root, problems)
    _check_references(scenario, p, root)
    return scenario


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class _PersonaReader:
    """Resolves each agent's persona as the runner will (example, file or inline, then fragments),
    recording every problem with its location instead of stopping at the first.

    Each file or example is read once, however many agents name it (a 10,000-agent list may).
    """

    def __init__(self, path: Path, problems: list[tuple[Loc, str]]) -> None:
        self.path = path
        self.problems = problems
        self.personas, self.fragments = set(list_example_personas()), set(list_example_fragments())
        self._read: dict[Path, Persona | Fragment | ScenarioError] = {}
        self._examples: dict[str, Persona] = {}
        self._example_fragments: dict[str, Fragment] = {}

    def _read_once(self, target: Path) -> Persona | Fragment:
        if target not in self._read:
            try:
                self._read[target] = load_persona_file(target)
            except ScenarioError as exc:
                self._read[target] = exc
        found = self._read[target]
        if isinstance(found, ScenarioError):
            raise found
        return found

    def persona(self, i: int, entry: AgentEntry) -> Persona | None:
        """The agent's persona with its fragments merged; None when a problem leaves it unknown."""
        persona = self._base(i, entry)
        for j, ref in enumerate(entry.fragments):
            fragment = self._fragment(("agents", i, "fragments", j), ref)
            if fragment is not None and persona is not None:
                try:
                    persona = persona.merge(fragment.persona_dict)
                except ScenarioError as exc:
                    self.problems.append((("agents", i, "fragments", j), _first_line(exc)))
        return persona

    def _base(self, i: int, entry: AgentEntry) -> Persona | None:
        if entry.example is not None:
            if entry.example in self.personas:
                if entry.example not in self._examples:
                    self._examples[entry.example] = load_example_persona(entry.example)
                return self._examples[entry.example]
            near = _close_match(entry.example, sorted(self.personas))
            hint = f"; did you mean {near!r}?" if near else ""
            self.problems.append((("agents", i, "example"), f"no example persona {_short(entry.example)}{hint} "
                                                            f"(examples: {', '.join(sorted(self.personas))})"))
            return None
        if entry.file is None:
            return Persona.from_spec({"type": "TinyPerson", "persona": entry.persona})
        target = self.path.parent / entry.file
        if not _is_file(target):
            self.problems.append((("agents", i, "file"), f"persona file {_short(entry.file)} not found next to "
                                                         f"{self.path.name}"))
            return None
        try:
            loaded = self._read_once(target)
        except ScenarioError as exc:
            self.problems.append((("agents", i, "file"), _first_line(exc)))
            return None
        if isinstance(loaded, Persona):
            return loaded
        self.problems.append((("agents", i, "file"), f"{_short(entry.file)} is a Fragment file; an agent needs a "
                                                     "TinyPerson file (list fragments under 'fragments:')"))
        return None

    def _fragment(self, loc: Loc, ref: str) -> Fragment | None:
        candidate = self.path.parent / ref
        # The same choice as the runner's: a file when there is one (or a .json name), else an example.
        if candidate.suffix == ".json" or _is_file(candidate):
            if not _is_file(candidate):
                self.problems.append((loc, f"fragment file {_short(ref)} not found next to {self.path.name}"))
                return None
            try:
                loaded = self._read_once(candidate)
            except ScenarioError as exc:
                self.problems.append((loc, _first_line(exc)))
                return None
            if not isinstance(loaded, Fragment):
                self.problems.append((loc, f"{_short(ref)} is a TinyPerson file, not a Fragment"))
                return None
            return loaded
        if ref in self.fragments:
            if ref not in self._example_fragments:
                self._example_fragments[ref] = load_example_fragment(ref)
            return self._example_fragments[ref]
        self.problems.append((loc, f"{_short(ref)} is neither an example fragment "
                                   f"({', '.join(sorted(self.fragments))}) nor a fragment file next to the scenario"))
        return None


def _check_references(scenario: Scenario, path: Path, root: yaml.Node | None) -> None:
    """Personas must load (examples, files, fragments) and names must be unique and known: say so
    now, with the line, not mid-run."""
    problems: list[tuple[Loc, str]] = []
    reader = _PersonaReader(path, problems)
    names: dict[str, Loc] = {}
    documented: dict[str, bool] = {}  # name -> has documents of its own
    all_named = True
    for i, entry in enumerate(scenario.agents):
        persona = reader.persona(i, entry)
        if persona is None:
            all_named = False
            continue
        # TinyPerson strips its name: " Ana" and "Ana" would be the same agent.
        name = (entry.name or persona.name).strip()
        source: Loc = ("agents", i, "name") if entry.name else ("agents", i)
        if name == "*":
            problems.append((source, "'*' means every agent in script steps, so no agent may be named '*'; "
                                     "give it another 'name:'"))
        elif name in names:
            problems.append((source, f"a second agent named {_short(name)} (the first is "
                                     f"{'.'.join(map(str, names[name]))}); give one a different 'name:'"))
        names.setdefault(name, source)
        documented.setdefault(name, entry.documents is not None)
    known = set(names)
    if scenario.population is not None:
        problems += [(("population", "names", j), "'*' means every agent in script steps, so nobody may be "
                                                  "named '*'; use another name")
                     for j, first in enumerate(scenario.population.names or []) if first.strip() == "*"]
        members = scenario.population.possible_names()
        for name in sorted(members & known):
            problems.append((names[name], f"{_short(name)} is also a name the population can give; rename the "
                                          "agent or change population.names"))
        known |= members
        documented.update((member, False) for member in members - set(documented))  # only the shared documents
    if all_named and not (scenario.population is not None and scenario.population.generated):
        # a generated population's names are known only once written: there, only '*' can be checked
        problems += _reference_problems(scenario, known)
    problems += design_file_problems(scenario, path) + tool_problems(scenario) + file_problems(scenario, path.parent)
    if all_named:
        problems += consult_problems(scenario, documented,
                                     scenario.population is None or not scenario.population.generated)
    if problems:
        _raise_problems(path, root, problems)


def _reference_problems(scenario: Scenario, known: set[str]) -> list[tuple[Loc, str]]:
    """Script steps and relations that name an agent not among ``known``."""
    problems: list[tuple[Loc, str]] = []
    shown = ", ".join(sorted(known)[:20]) + (", ..." if len(known) > 20 else "")
    for k, item in enumerate(scenario.script):
        for kind in ("listen", "think", "see", "internalize_goal", "consult"):
            for target in getattr(item, kind) or {}:
                if target != "*" and target not in known:
                    problems.append((("script", k, kind, target), f"no agent is named {_short(target)}; "
                                                                  f"agents: {shown} (or '*' for everyone)"))
    for e, event in enumerate(scenario.schedule.events if scenario.schedule is not None else []):
        problems += [(("schedule", "events", e, "attendees"), f"no agent is named {_short(who)}; agents: {shown}")
                     for who in event.attendees if who not in known]
    for r, relation in enumerate(scenario.world.relations):
        for who in relation[:2]:
            if who not in known:
                problems.append((("world", "relations", r), f"no agent is named {_short(who)}; agents: {shown}"))
    return problems + market_name_problems(scenario.world.market, known) + workplace_classroom_problems(scenario, known)


def check_agent_references(scenario: Scenario, agents: list[TinyPerson]) -> None:
    """Raise when a script step or relation names someone who is not among ``agents``.

    :func:`load_scenario` checks this with file and line; :func:`arun_scenario` checks it again on
    the agents it built, so a scenario made in Python fails before its first model call too, not at
    the step that names a stranger after earlier steps were paid for.

    Raises:
        ScenarioError: with ``field`` naming the first bad step (``script.2.listen.Zed``).

    Example:
        >>> s = Scenario.model_validate({"name": "x", "agents": [{"persona": {"name": "Ana"}}],
        ...                              "script": [{"run": 1}, {"listen": {"Zed": "hi"}}]})
        >>> try:
        ...     check_agent_references(s, [TinyPerson("Ana")])
        ... except ScenarioError as err:
        ...     print(err.field)
        script.1.listen.Zed
    """
    problems = _reference_problems(scenario, {a.name for a in agents})
    if problems:
        lines = [f"{'.'.join(map(str, loc))}: {message}" for loc, message in problems[:_MAX_REPORTED]]
        if len(problems) > _MAX_REPORTED:
            lines.append(f"... and {len(problems) - _MAX_REPORTED} more problems")
        raise ScenarioError("invalid scenario: " + "\n".join(lines),
                            field=".".join(map(str, problems[0][0])))


