"""MCP input schemas as pydantic models (no server needed): types, optional fields, aliases, notes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tinytroupe.tools.mcp_schema import arguments_of, model_from_schema
from tinytroupe.tools.mcp_toolkit import action_name

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 3},
        "ratio": {"type": "number"},
        "metric": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "where": {"$ref": "#/$defs/Place"},
        "mode": {"enum": ["fast", "slow"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "class": {"type": "string"},
        "max-results": {"type": "integer"},
        "odd": {"type": "quaternion"},
    },
    "required": ["city", "class"],
    "$defs": {"Place": {"type": "object", "properties": {"lat": {"type": "number"}}}},
    "additionalProperties": False,
}


def test_common_types_required_and_optional() -> None:
    model, notes = model_from_schema("Forecast", SCHEMA)
    args = model.model_validate({"city": "Lisbon", "class": "x", "tags": ["a"], "where": {"lat": 38.7},
                                 "mode": "fast", "max-results": 5, "odd": [1, 2]})
    # JSON names (aliases) go back to the server; what the caller left out is not sent
    assert arguments_of(args) == {"city": "Lisbon", "class": "x", "tags": ["a"], "where": {"lat": 38.7},
                                  "mode": "fast", "max-results": 5, "odd": [1, 2]}
    assert model.model_validate({"city": "Lisbon", "class": "x"}).days == 3  # type: ignore[attr-defined]
    assert notes == ["odd: 'quaternion' is not checked here (any value is accepted; the server checks it)"]


@pytest.mark.parametrize(("bad", "field"), [
    ({"class": "x"}, "city"),
    ({"city": "L", "class": "x"}, "city"),
    ({"city": "Lisbon", "class": "x", "days": 9}, "days"),
    ({"city": "Lisbon", "class": "x", "mode": "medium"}, "mode"),
    ({"city": "Lisbon", "class": "x", "tags": "a"}, "tags"),
    ({"city": "Lisbon", "class": "x", "where": 3}, "where"),
    ({"city": "Lisbon", "class": "x", "unknown": 1}, "unknown"),  # additionalProperties: false
])
def test_bad_arguments_name_the_field(bad: dict[str, object], field: str) -> None:
    model, _ = model_from_schema("Forecast", SCHEMA)
    with pytest.raises(ValidationError) as caught:
        model.model_validate(bad)
    assert field in {str(err["loc"][0]) for err in caught.value.errors()}


def test_a_schema_without_properties_and_action_names() -> None:
    model, notes = model_from_schema("Nothing", None)
    assert arguments_of(model.model_validate({})) == {} and notes == []
    taken: set[str] = set()
    assert [action_name(n, taken) for n in ("get-weather", "get_weather", "list.files", "")] == [
        "GET_WEATHER", "GET_WEATHER_2", "LIST_FILES", "TOOL"]
