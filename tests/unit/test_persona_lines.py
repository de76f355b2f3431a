"""Errors in persona JSON files name the line inside the file (``ana.agent.json:5: persona.age: ...``), whether the
file is loaded directly, by a scenario, by TinyPerson.load_specification or by ``tinytroupe chat``."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinytroupe.agent.persona import Persona, load_persona_file, parse_persona_json
from tinytroupe.cli import app
from tinytroupe.errors import ScenarioError
from tinytroupe.safe_load import json_key_lines
from tinytroupe.scenario.loader import load_scenario

BAD_PERSONA = """\
{
  "type": "TinyPerson",
  "persona": {
    "name": "Ana",
    "age": "old",
    "occupation": {"title": 3},
    "skills": ["cooking",
               7]
  }
}
"""


def _bad_persona(tmp_path: Path) -> Path:
    path = tmp_path / "ana2.agent.json"
    path.write_text(BAD_PERSONA)
    return path


# -------------------------------------------------------------------- json_key_lines


def test_json_key_lines_finds_keys_items_and_the_nearest_existing_parent() -> None:
    lines = json_key_lines(BAD_PERSONA, [("persona", "age"), ("persona", "occupation", "title"),
                                         ("persona", "skills", 1), ("persona", "gender"), ("nope",)])
    assert lines == {("persona", "age"): 5, ("persona", "occupation", "title"): 6,
                     ("persona", "skills", 1): 8, ("persona", "gender"): 3}


def test_json_key_lines_is_not_fooled_by_strings_or_same_named_keys_elsewhere() -> None:
    text = '{"memory": {"age": 1, "x": "}{\\"age\\": [", "list": [{"age": 2}]},\n"a\\"ge": 0,\n"age": 3}'
    assert json_key_lines(text, [("age",), ('a"ge',), ("memory", "list", 0, "age")]) == {
        ("age",): 3, ('a"ge',): 2, ("memory", "list", 0, "age"): 1}


def test_json_key_lines_is_linear_on_a_large_document() -> None:
    data = {"persona": {"memory": [{"text": "x" * 40, "n": [1, 2, 3]} for _ in range(20_000)], "age": "old"}}
    text = json.dumps(data, indent=1)
    start = time.perf_counter()
    lines = json_key_lines(text, [("persona", "age")])
    assert lines == {("persona", "age"): text[: text.index('"age"')].count("\n") + 1}
    assert time.perf_counter() - start < 5  # about 0.3 s; a quadratic scan would take minutes


# -------------------------------------------------------------------- persona files


def test_a_bad_field_in_a_persona_file_names_its_line(tmp_path: Path) -> None:
    path = _bad_persona(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_persona_file(path)
    message = str(info.value)
    assert f"{path}:5: persona.age: expected an integer" in message
    assert f"{path}:6: persona.occupation.title: expected a string" in message
    assert f"{path}:8: persona.skills[1]: expected a string" in message
    assert "Invalid persona: fix the field(s) above" in message
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 5, "persona.age")
    # It crosses process boundaries (Ray workers, multiprocessing) intact.
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == message and again.line == 5


def test_a_missing_field_points_at_the_object_that_lacks_it() -> None:
    text = '{"type": "TinyPerson",\n "persona": {"age": 3}}'
    with pytest.raises(ScenarioError, match=r"^x\.json:2: persona\.name is missing"):
        parse_persona_json(text, source="x.json")


def test_without_a_file_the_message_is_unchanged() -> None:
    with pytest.raises(ScenarioError) as info:
        Persona.from_spec({"type": "TinyPerson", "persona": {"name": "A", "age": "x", "skills": "y"}})
    assert str(info.value).startswith("invalid persona: persona.age: expected an integer")
    assert "\n  also persona.skills: expected a list" in str(info.value)
    assert info.value.line is None


def test_a_scenario_names_the_yaml_line_and_the_line_in_the_persona_file(tmp_path: Path) -> None:
    _bad_persona(tmp_path)
    scenario = tmp_path / "sc_ana2.yaml"
    scenario.write_text("name: t\nagents:\n  - example: lisa\n  - file: ana2.agent.json\n"
                        "script:\n  - broadcast: hi\n  - run: 1\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(scenario)
    assert f"{scenario}:4: agents.1.file: " in str(info.value)
    assert "ana2.agent.json:5: persona.age: expected an integer" in str(info.value)


def test_load_specification_and_chat_name_the_line(tmp_path: Path) -> None:
    from tinytroupe import TinyPerson

    path = _bad_persona(tmp_path)
    with pytest.raises(ScenarioError, match=r"ana2\.agent\.json:5: persona\.age"):
        TinyPerson.load_specification(str(path))
    # wide, so a long temporary path does not wrap the message where the test looks
    result = CliRunner().invoke(app, ["chat", str(path), "-b", "scripted"], input="/quit\n", env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert "ana2.agent.json:5: persona.age" in " ".join(result.output.split())


def test_json_key_lines_points_at_the_repeated_key_json_loads_keeps() -> None:
    text = '{\n "name": "Ana",\n "age": 3,\n "name": "Bea",\n "tags": [1],\n "tags": [\n  2, 3]\n}'
    assert json.loads(text)["name"] == "Bea"
    assert json_key_lines(text, [("name",), ("age",), ("tags", 1)]) == {("name",): 4, ("age",): 3, ("tags", 1): 7}
