"""TinyWordProcessor: writing, revising and exporting documents, their limits, file names, state and enrichment."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tinytroupe.agent import TinyPerson
from tinytroupe.enrichment import TinyEnricher
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import (
    InvalidArgument,
    InvalidArgumentType,
    ToolArgumentError,
    ToolExecutionError,
    ToolPermissionError,
)
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.tools import TinyWordProcessor, ToolCall, ToolRegistry
from tinytroupe.tools.documents import safe_file_name
from tinytroupe.tools.word_processor import MAX_CONTENT_CHARS

PLAN = "# Launch plan\n\nWe ship in **March**.\n\n- Beta with *ten* users\n- Fix `login`\n\n1. Announce\n2. Ship"


def write(wp: TinyWordProcessor, title: str = "Launch plan", content: str = PLAN, **more: Any) -> Any:
    return wp.call("WRITE_DOCUMENT", {"title": title, "content": content, **more})


def test_write_then_revise_by_appending_and_replacing() -> None:
    wp = TinyWordProcessor()
    made = write(wp, author="Lisa")
    assert (made.document.title, made.document.author, made.document.revision) == ("Launch plan", "Lisa", 1)
    assert made.document.characters == len(PLAN) and made.exported == []

    appended = wp.call("REVISE_DOCUMENT", {"title": "  LAUNCH   plan ", "content": "Budget: 10k."})
    assert appended.document.revision == 2
    assert wp.document("launch plan").content == PLAN + "\n\nBudget: 10k."

    replaced = wp.call("REVISE_DOCUMENT", {"title": "Launch plan", "content": "Cancelled.", "mode": "replace"})
    assert replaced.document.revision == 3 and wp.document("Launch plan").content == "Cancelled."
    assert [d.title for d in wp.documents] == ["Launch plan"]


def test_writing_an_existing_title_is_refused_and_points_to_revise() -> None:
    wp = TinyWordProcessor()
    write(wp)
    with pytest.raises(ToolArgumentError, match="already exists; use REVISE_DOCUMENT"):
        write(wp, title="launch PLAN", content="other")
    assert wp.document("Launch plan").content == PLAN


def test_revising_or_exporting_a_missing_document_names_the_ones_there_are(tmp_path: Path) -> None:
    wp = TinyWordProcessor(output_folder=tmp_path)
    write(wp)
    with pytest.raises(ToolArgumentError, match=r"no document titled 'Budget'.*'Launch plan'"):
        wp.call("REVISE_DOCUMENT", {"title": "Budget", "content": "x"})
    with pytest.raises(ToolArgumentError, match="no document titled 'Budget'"):
        wp.call("EXPORT_DOCUMENT", {"title": "Budget"})


@pytest.mark.parametrize(("arguments", "field"), [
    ({"title": "", "content": "x"}, "title"),
    ({"title": "T", "content": ""}, "content"),
    ({"title": "T" * 201, "content": "x"}, "title"),
    ({"title": "T", "content": "x" * (MAX_CONTENT_CHARS + 1)}, "content"),
    ({"content": "x"}, "title"),
])
def test_bad_arguments_are_refused_naming_the_field(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ToolArgumentError, match=rf"\b{field}:") as info:
        TinyWordProcessor().call("WRITE_DOCUMENT", arguments)
    assert info.value.action == "WRITE_DOCUMENT"


def test_appending_past_the_size_limit_is_refused_and_the_document_kept() -> None:
    wp = TinyWordProcessor()
    write(wp, content="x" * (MAX_CONTENT_CHARS - 10))
    with pytest.raises(ToolArgumentError, match="more than the 100,000 allowed"):
        wp.call("REVISE_DOCUMENT", {"title": "Launch plan", "content": "y" * 20})
    assert wp.document("Launch plan").revision == 1


def test_bad_json_and_unknown_format_are_argument_errors(tmp_path: Path) -> None:
    wp = TinyWordProcessor(output_folder=tmp_path)
    with pytest.raises(ToolArgumentError, match="not valid JSON"):
        wp.call("WRITE_DOCUMENT", '{"title": "T", "content": ')
    write(wp)
    with pytest.raises(ToolArgumentError, match="format"):
        wp.call("EXPORT_DOCUMENT", {"title": "Launch plan", "format": "pdf"})


def test_export_markdown_text_and_json(tmp_path: Path) -> None:
    wp = TinyWordProcessor(output_folder=tmp_path)
    write(wp, author="Lisa")
    md = wp.call("EXPORT_DOCUMENT", {"title": "Launch plan"})
    assert Path(md.path) == tmp_path / "Launch plan.Lisa.md"
    assert Path(md.path).read_text(encoding="utf-8") == PLAN and md.bytes == len(PLAN.encode())
    txt = wp.call("EXPORT_DOCUMENT", {"title": "Launch plan", "format": "txt"})
    assert Path(txt.path).read_text(encoding="utf-8") == PLAN
    data = json.loads(Path(wp.call("EXPORT_DOCUMENT", {"title": "Launch plan", "format": "json"}).path).read_text())
    assert (data["title"], data["content"], data["author"], data["revision"]) == ("Launch plan", PLAN, "Lisa", 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Launch plan.Lisa.json", "Launch plan.Lisa.md",
                                                         "Launch plan.Lisa.txt"]  # no temporary files left


def test_docx_export_reads_back_with_python_docx(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx", reason="python-docx is not installed (pip install 'tinytroupe[tools]')")
    wp = TinyWordProcessor(output_folder=tmp_path)
    write(wp, author="Lisa")
    result = wp.call("EXPORT_DOCUMENT", {"title": "Launch plan", "format": "docx"})
    doc = docx.Document(result.path)
    paragraphs = [(p.style.name, p.text) for p in doc.paragraphs]
    assert paragraphs == [("Heading 1", "Launch plan"), ("Normal", "We ship in March."),
                          ("List Bullet", "Beta with ten users"), ("List Bullet", "Fix login"),
                          ("List Number", "Announce"), ("List Number", "Ship")]
    assert [r.text for r in doc.paragraphs[1].runs if r.bold] == ["March"]
    assert [r.text for r in doc.paragraphs[2].runs if r.italic] == ["ten"]
    assert doc.core_properties.title == "Launch plan" and doc.core_properties.author == "Lisa"


def test_exporting_with_nowhere_to_write_says_how_to_fix_it() -> None:
    wp = TinyWordProcessor()
    write(wp)
    with pytest.raises(ToolExecutionError, match="exporter=<folder>"):
        wp.call("EXPORT_DOCUMENT", {"title": "Launch plan"})


def test_an_exporter_path_or_object_gets_tinytroupes_automatic_exports(tmp_path: Path) -> None:
    by_path = TinyWordProcessor(exporter=str(tmp_path / "a"))
    assert [Path(p).name for p in write(by_path).exported] == ["Launch plan.md", "Launch plan.json"]
    exporter = SimpleNamespace(base_output_folder=tmp_path / "b")  # like TinyTroupe's ArtifactExporter
    by_object = TinyWordProcessor(exporter=exporter)
    write(by_object)
    revised = by_object.call("REVISE_DOCUMENT", {"title": "Launch plan", "content": "v2", "mode": "replace"})
    assert (tmp_path / "b" / "Launch plan.md").read_text(encoding="utf-8") == "v2"
    assert len(revised.exported) == 2
    with pytest.raises(InvalidArgumentType, match="base_output_folder"):
        TinyWordProcessor(exporter=object())
    with pytest.raises(InvalidArgument, match="unknown formats"):
        TinyWordProcessor(exporter=tmp_path, auto_export=["pdf"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="needs an exporter"):
        TinyWordProcessor(auto_export=["md"])


@pytest.mark.parametrize(("title", "name"), [
    ("../../etc/passwd", "etc_passwd.md"),
    ("/abs/path", "abs_path.md"),
    ("..", None),
    ("a\\b:c*d?e", "a_b_c_d_e.md"),
    ("CON", "_CON.md"),
    ("Café plan", "Café plan.md"),
])
def test_file_names_stay_inside_the_export_folder(tmp_path: Path, title: str, name: str | None) -> None:
    folder = tmp_path / "out"
    wp = TinyWordProcessor(output_folder=folder)
    write(wp, title=title, author="")
    if name is None:
        with pytest.raises(ToolArgumentError, match="no letters or digits"):
            wp.call("EXPORT_DOCUMENT", {"title": title})
        return
    path = Path(wp.call("EXPORT_DOCUMENT", {"title": title}).path)
    assert path.parent == folder.resolve() and path.name == name
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_safe_file_name_bounds_length() -> None:
    assert len(safe_file_name("x" * 500, "y" * 500)) == 120


def test_author_defaults_to_the_calling_agent_and_owner_is_enforced() -> None:
    lisa, ben = TinyPerson("Lisa"), TinyPerson("Ben")
    wp = TinyWordProcessor(owner=lisa)
    made = wp.call("WRITE_DOCUMENT", {"title": "Notes", "content": "hi"},
                   call=ToolCall("wordprocessor", "WRITE_DOCUMENT", agent=lisa))
    assert made.document.author == "Lisa"
    with pytest.raises(ToolPermissionError, match="belongs to Lisa"):
        wp.call("WRITE_DOCUMENT", {"title": "Mine", "content": "hi"},
                call=ToolCall("wordprocessor", "WRITE_DOCUMENT", agent=ben))


def test_documents_carry_the_simulated_time() -> None:
    lisa = TinyPerson("Lisa")
    TinyWorld("Office", [lisa], initial_datetime=datetime(2025, 3, 1, 9), communication_display=False)
    wp = TinyWordProcessor()
    wp.call("WRITE_DOCUMENT", {"title": "Notes", "content": "hi"},
            call=ToolCall("wordprocessor", "WRITE_DOCUMENT", agent=lisa))
    assert wp.document("Notes").created_at == datetime(2025, 3, 1, 9)


def test_state_round_trips_through_json() -> None:
    wp = TinyWordProcessor()
    write(wp, author="Lisa")
    wp.call("REVISE_DOCUMENT", {"title": "Launch plan", "content": "more"})
    write(wp, title="Second", content="two")
    state = json.loads(json.dumps(wp.get_state()))
    restored = TinyWordProcessor()
    restored.set_state(state)
    assert restored.documents == wp.documents
    assert restored.get_state() == state
    with pytest.raises(InvalidArgument, match="documents"):
        restored.set_state({"documents": [{"title": "no content"}]})


def test_max_documents_is_enforced() -> None:
    wp = TinyWordProcessor(max_documents=1)
    write(wp)
    with pytest.raises(ToolExecutionError, match="maximum of 1 documents"):
        write(wp, title="Other")


def test_concurrent_writes_of_one_title_keep_exactly_one() -> None:
    wp = TinyWordProcessor()

    async def both() -> list[Any]:
        return await asyncio.gather(*(wp.acall("WRITE_DOCUMENT", {"title": "Same", "content": f"v{i}"})
                                      for i in range(2)), return_exceptions=True)

    outcomes = asyncio.run(both())
    assert sum(isinstance(o, ToolArgumentError) for o in outcomes) == 1
    assert len(wp.documents) == 1


def test_the_enricher_expands_written_documents(tmp_path: Path) -> None:
    longer = PLAN + "\n\n## Risks\n\n- Late hardware\n- Staff holidays"
    backend = ScriptedBackend([{"content": longer}])
    wp = TinyWordProcessor(enricher=TinyEnricher(client=LLMClient(backend)), output_folder=tmp_path)
    made = write(wp)
    assert made.document.enriched and wp.document("Launch plan").content == longer
    assert backend.calls == 1
    prompt = "\n".join(str(m.content) for m in backend.requests[0].messages)
    assert "five times" in prompt and "We ship in **March**" in prompt
    # revisions are the agent's own words: not enriched
    wp.call("REVISE_DOCUMENT", {"title": "Launch plan", "content": "Done."})
    assert backend.calls == 1


def test_a_failing_enricher_is_a_tool_error_and_nothing_is_kept() -> None:
    backend = ScriptedBackend([{"content": ""}, {"content": ""}, {"content": ""}, {"content": ""}])
    wp = TinyWordProcessor(enricher=TinyEnricher(client=LLMClient(backend)))
    with pytest.raises(ToolExecutionError, match="LLMOutputError"):
        write(wp)
    assert wp.documents == []
    with pytest.raises(InvalidArgument, match="enrich_content"):
        TinyWordProcessor(enricher=object())


def test_it_registers_and_declares_its_operations() -> None:
    registry = ToolRegistry([TinyWordProcessor()])
    wp = registry.get("wordprocessor")
    assert list(wp.actions_definitions()) == ["EXPORT_DOCUMENT", "REVISE_DOCUMENT", "WRITE_DOCUMENT"]
    assert [t.name for t in registry.find("documents")] == ["wordprocessor"]
    schema = wp.operation("WRITE_DOCUMENT").args_schema()
    assert schema["required"] == ["title", "content"]
    assert schema["properties"]["content"]["maxLength"] == MAX_CONTENT_CHARS
