"""Scenario files give agents tools: per agent and scenario-wide, checked when loaded (file, line,
field), built when the study runs and given through the TinyToolUse faculty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import tinytroupe.scenario.tools as scenario_tools
from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.errors import ScenarioError
from tinytroupe.scenario import build_agents, load_scenario
from tinytroupe.tools import TinyTool, ToolCall, tool_action


class PageArgs(BaseModel):
    text: str


class Page(BaseModel):
    pages: int


class Notebook(TinyTool):
    def __init__(self, pages: int = 10) -> None:
        super().__init__("notebook", "a paper notebook")
        self.pages = pages

    @tool_action("JOT", "write a line in the notebook")
    def jot(self, call: ToolCall, args: PageArgs) -> Page:
        return Page(pages=self.pages)


class Diary(TinyTool):
    def __init__(self, owner_name: str = "") -> None:
        super().__init__("diary", "a private diary")
        self.owner_name = owner_name

    @tool_action("CONFIDE", "write in the diary")
    def confide(self, call: ToolCall, args: PageArgs) -> Page:
        return Page(pages=1)


class StandInToolUse(MentalFaculty):
    """Stands in for tinytroupe.tools.tool_use.TinyToolUse (not on this branch yet): same constructor."""

    def __init__(self, tools: list[TinyTool], allow_side_effects: bool = False) -> None:
        super().__init__("tool_use", {a: op.description for t in tools for a, op in t.operations.items()})
        self.tools = tools


@pytest.fixture(autouse=True)
def stand_in_tool_use(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        __import__("tinytroupe.tools.tool_use")
    except ImportError:
        monkeypatch.setattr(scenario_tools, "TOOL_USE_REF", f"{__name__}:StandInToolUse")


NOTEBOOK = f"{__name__}:Notebook"
DIARY = f"{__name__}:Diary"


def write(tmp_path: Path, tools_block: str, agent_tools: str = "") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"""\
name: Tools
agents:
  - persona: {{name: Ana}}
{agent_tools}  - persona: {{name: Ben}}
{tools_block}script:
  - run: 1
""", encoding="utf-8")
    return path


def faculty_tools(agent: Any) -> list[TinyTool]:
    faculty = next(f for f in agent.mental_faculties if f.name == "tool_use")
    return list(faculty.tools)


def test_scenario_and_agent_tools_are_built_and_given(tmp_path: Path) -> None:
    path = write(tmp_path, f"tools:\n  - {{tool: '{NOTEBOOK}', args: {{pages: 3}}}}\n",
                 f"    tools:\n      - {{tool: '{DIARY}', args: {{owner_name: Ana}}}}\n")
    scenario = load_scenario(path)
    assert [t.tool for t in scenario.tools] == [NOTEBOOK] and scenario.agents[0].tools[0].args == {"owner_name": "Ana"}
    ana, ben = build_agents(scenario, tmp_path)
    ana_tools, ben_tools = faculty_tools(ana), faculty_tools(ben)
    assert [type(t) for t in ana_tools] == [Notebook, Diary]  # the shared one, then its own
    assert ana_tools[0].pages == 3 and ana_tools[1].owner_name == "Ana"  # type: ignore[attr-defined]
    assert ben_tools == [ana_tools[0]]  # scenario-wide tools are one instance shared by everyone
    assert {"JOT", "CONFIDE"} <= set(ana.actions_registry.types) and "CONFIDE" not in ben.actions_registry.types


def test_a_scenario_without_tools_gives_no_faculty(tmp_path: Path) -> None:
    ana, _ = build_agents(load_scenario(write(tmp_path, "")), tmp_path)
    assert all(f.name != "tool_use" for f in ana.mental_faculties)


@pytest.mark.parametrize(("tools_block", "agent_tools", "field", "line", "words"), [
    ("tools:\n  - notes\n", "", "tools.0.tool", 6, "neither a core tool"),
    ("tools:\n  - nowhere.at.all:Nope\n", "", "tools.0.tool", 6, "cannot import nowhere.at.all"),
    ("tools:\n  - tinytroupe.errors:ScenarioError\n", "", "tools.0.tool", 6, "not a TinyTool subclass"),
    ("", f"    tools:\n      - {{tool: '{NOTEBOOK}', args: {{colour: red}}}}\n", "agents.0.tools.0.args", 5,
     "unexpected keyword argument 'colour'; Notebook takes: pages"),
    ("", f"    tools:\n      - {{tool: '{NOTEBOOK}', argz: {{}}}}\n", "agents.0.tools.0.argz", 5, "unknown field"),
    ("tools: email\n", "", "tools", 5, "valid list"),
])
def test_broken_tools_are_reported_with_file_line_and_field(tmp_path: Path, tools_block: str, agent_tools: str,
                                                            field: str, line: int, words: str) -> None:
    path = write(tmp_path, tools_block, agent_tools)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert (info.value.field, info.value.line) == (field, line), str(info.value)
    assert words in str(info.value) and f"{path}:{line}: {field}:" in str(info.value)


def test_core_tools_by_short_name(tmp_path: Path) -> None:
    from tinytroupe.tools import TinyCalendar, TinyEmail, TinyWordProcessor

    scenario = load_scenario(write(tmp_path, "tools:\n  - email\n  - calendar\n",
                                   "    tools: [word_processor]\n"))
    ana, ben = build_agents(scenario, tmp_path)
    assert [type(t) for t in faculty_tools(ana)] == [TinyEmail, TinyCalendar, TinyWordProcessor]
    assert [type(t) for t in faculty_tools(ben)] == [TinyEmail, TinyCalendar]


def test_a_core_tool_that_needs_arguments_says_which(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, "tools:\n  - database\n"))
    assert info.value.field == "tools.0.args" and "missing a required argument: 'database'" in str(info.value)


def test_a_core_tool_missing_from_this_installation_is_reported_when_loaded(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import tinytroupe.tools.names as names

    monkeypatch.setitem(names.CORE_TOOLS, "hologram", "tinytroupe.tools:TinyHologram")
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, "tools:\n  - hologram\n"))
    assert info.value.field == "tools.0.tool"
    assert "tinytroupe.tools has no TinyHologram (this version of tinytroupe does not have" in str(info.value)
