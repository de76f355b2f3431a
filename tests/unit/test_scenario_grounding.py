"""Scenario files ground agents in documents (``documents:`` per agent and shared, the ``consult:``
step) and show them images (``images:``): checked when loaded with file, line and field, carried out
with real stores and real files, counted by ``--estimate`` (no extra call)."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from helpers import action_prompt, agent_of, is_action_request, turn
from PIL import Image
from typer.testing import CliRunner

from tinytroupe.cli import app
from tinytroupe.errors import ScenarioError
from tinytroupe.events import Event
from tinytroupe.grounding import DocumentEvent
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.scenario import Scenario, arun_scenario, build_agents, load_scenario
from tinytroupe.scenario.estimate import estimate_scenario
from tinytroupe.scenario.grounding import grounding_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "product"
    folder.mkdir()
    (folder / "sheet.md").write_text("# Sheet\n\nPrice: 45 euros. Battery: one charge lasts three weeks.")
    (folder / "faq.md").write_text("# FAQ\n\nThe cap holds the battery: rinse it by hand, not in the dishwasher.")
    (tmp_path / "review.txt").write_text("After one wash in the dishwasher my cap stopped glowing.")
    return folder


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


GROUNDED = """\
name: Grounded
documents: {paths: [product], embedder: hash, top_k: 3}
agents:
  - persona: {name: Ana}
  - persona: {name: Ben}
    documents: {paths: [review.txt], embedder: hash}
script:
  - consult: {"*": "price and battery"}
  - consult: {Ben: "dishwasher"}
  - run: 1
extraction:
  question: What does it cost?
  fields: {price: {type: int}}
"""


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


# ---------------------------------------------------------------------------------------- running

async def test_agents_consult_the_shared_and_their_own_documents(tmp_path: Path) -> None:
    docs(tmp_path)
    scenario = load_scenario(write(tmp_path, GROUNDED))
    prompts: dict[str, str] = {}

    def respond(request: LLMRequest) -> Any:
        if not is_action_request(request):
            return {"price": 45}
        name = agent_of(request)
        prompts.setdefault(name, action_prompt(request))
        return {"actions": [{"type": "TALK", "content": "It costs 45 euros.", "cites": ["sheet.md#1"]},
                            {"type": "DONE"}]}

    backend = ScriptedBackend(respond)
    events: list[Event] = []
    client = LLMClient(backend)
    client.bus.subscribe(events.append, kinds=["document"])  # the run's bus: the world's and its agents'
    _, result = await arun_scenario(scenario, client=client, base_dir=tmp_path)
    assert result.results == {"Ana": {"status": "ok", "price": 45}, "Ben": {"status": "ok", "price": 45}}
    assert backend.calls == 2 * 2 + 2  # consulting made no call: one step, the question's step, extraction
    ops = [e for e in events if isinstance(e, DocumentEvent)]
    ingest = [e for e in ops if e.operation == "ingest"]
    assert [(e.collection, sorted(e.documents)) for e in ingest] == [
        ("world:Focus room", ["faq.md", "sheet.md"]), ("agent:Ben", ["review.txt"])]
    consults = {(e.agent, e.query): set(e.chunk_ids) for e in ops if e.operation == "consult"}
    assert consults[("Ana", "price and battery")] == {"sheet.md#1", "faq.md#1"}
    assert "sheet.md#1" in consults[("Ben", "price and battery")]
    assert ("Ana", "dishwasher") not in consults  # the step named Ben alone
    assert {"review.txt#1", "faq.md#1"} <= consults[("Ben", "dishwasher")]  # his own store and the shared one
    # what they read reached the model in their next turn, labelled with the ids they may cite
    assert "[sheet.md#1]" in prompts["Ana"] and "45 euros" in prompts["Ana"] and "review.txt" not in prompts["Ana"]
    assert "[review.txt#1]" in prompts["Ben"]
    cites = [e for e in ops if e.operation == "cite"]
    assert {(e.agent, tuple(e.chunk_ids), e.by) for e in cites} == {("Ana", ("sheet.md#1",), "model"),
                                                                     ("Ben", ("sheet.md#1",), "model")}


def test_build_agents_gives_the_faculty_lazily(tmp_path: Path) -> None:
    docs(tmp_path)
    scenario = load_scenario(write(tmp_path, GROUNDED))
    ana, ben = build_agents(scenario, tmp_path)
    fa, fb = grounding_of(ana), grounding_of(ben)
    assert fa is not None and fb is not None
    assert fa.folders_paths == fa.files_paths == [] and fa.top_k == 3 and fa.embedder == "hash"
    assert fb.files_paths == [str((tmp_path / "review.txt").resolve())] and fb.top_k == 5
    assert [r.name for r in fa.retrievers] == ["world:Focus room"] and fa.retrievers[0] is fb.retrievers[0]
    assert fa.retrievers[0]._store is None  # type: ignore[attr-defined]  # nothing read yet
    assert fb.get_state()["files_paths"] == fb.files_paths  # saved with the agent, restored by set_state
    plain = load_scenario(write(tmp_path, "name: x\nagents: [{persona: {name: Cy}}]\nscript: [{run: 1}]\n"))
    assert grounding_of(build_agents(plain, tmp_path)[0]) is None


async def test_a_python_scenario_is_checked_before_any_call(tmp_path: Path) -> None:
    scenario = Scenario.model_validate({"name": "x", "agents": [{"persona": {"name": "Ana"}}],
                                        "documents": ["nowhere"], "script": [{"run": 1}]})
    backend = ScriptedBackend([])
    with pytest.raises(ScenarioError, match="no file or folder 'nowhere'") as info:
        await arun_scenario(scenario, client=LLMClient(backend), base_dir=tmp_path)
    assert info.value.field == "documents.0" and backend.calls == 0
    docs(tmp_path)
    lone = Scenario.model_validate({"name": "x", "agents": [{"persona": {"name": "Ana"}}],
                                    "script": [{"consult": {"Ana": "price"}}, {"run": 1}]})
    with pytest.raises(ScenarioError, match="'Ana' has no documents") as info:
        await arun_scenario(lone, client=LLMClient(backend), base_dir=tmp_path)
    assert info.value.field == "script.0.consult.Ana" and backend.calls == 0


async def test_shared_documents_with_a_sharded_executor_are_refused_before_the_population_is_paid_for(
        tmp_path: Path) -> None:
    """A worker's copy of an agent cannot consult shared documents (the executors refuse it at the first
    step); that came after the generated population's calls, the reading and the embedding."""
    from test_sharded_executor import InProcessShards

    from tinytroupe.config import Settings
    from tinytroupe.llm.client_spec import ClientSpec

    docs(tmp_path)
    scenario = Scenario.model_validate({"name": "x", "documents": "product", "script": [{"run": 1}],
                                        "population": {"factory": {"description": "Cyclists in Porto", "size": 2}}})
    population = ScriptedBackend([])
    executor = InProcessShards(2, ClientSpec.from_settings(Settings(), backend_factory=lambda: ScriptedBackend([])))
    with pytest.raises(ScenarioError, match=r"shared 'documents:'.*in-process.*local executor") as info:
        await arun_scenario(scenario, client=LLMClient(ScriptedBackend([])), base_dir=tmp_path, executor=executor,
                            population_client=LLMClient(population))
    assert info.value.field == "documents" and population.calls == 0 and executor.created == 0


# ---------------------------------------------------------------------------------------- bad input

def test_a_missing_folder_and_an_unreadable_file_name_line_and_field(tmp_path: Path) -> None:
    docs(tmp_path)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    message = error_of(write(tmp_path, """\
        name: Bad
        documents: manuals
        agents:
          - persona: {name: Ana}
            documents:
              - product
              - photo.jpg
          - persona: {name: Ben}
            documents: {paths: [review.txt, latin1.txt]}
        script:
          - run: 1
        """))
    path = tmp_path / "study.yaml"
    assert f"{path}:2: documents: no file or folder 'manuals' next to the scenario (in {tmp_path.resolve()})" in message
    assert f"{path}:7: agents.0.documents.1: 'photo.jpg' cannot be read: cannot read .jpg files" in message
    assert f"{path}:9: agents.1.documents.paths.1: 'latin1.txt' cannot be read: not UTF-8 text" in message
    assert "product" not in message and "review.txt" not in message


def test_a_folder_with_nothing_readable_lists_why(tmp_path: Path) -> None:
    bad = tmp_path / "scans"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"\xff\xd8")
    (bad / "b.txt").write_bytes(b"\xff\xfe\x00bad")
    (bad / "c.md").write_text("   \n")
    (tmp_path / "empty").mkdir()
    message = error_of(write(tmp_path, """\
        name: Bad
        documents: [scans, empty]
        agents: [{persona: {name: Ana}}]
        script: [{run: 1}]
        """))
    assert "study.yaml:2: documents.0: nothing readable in the folder 'scans': a.jpg (cannot read .jpg files); " \
           "b.txt (not UTF-8 text" in message
    assert "c.md (holds no text)" in message
    assert "study.yaml:2: documents.1: the folder 'empty' is empty: nothing to consult" in message


def test_two_documents_with_one_id_are_refused(tmp_path: Path) -> None:
    """A store keeps one document per id (a file's name, a folder file's path in it): a second file of that
    id replaced the first without a word, and an agent's own file named like a shared one was cited as it."""
    docs(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "faq.md").write_text("# Other FAQ\n\nA different product altogether.")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "sheet.md").write_text("My own notes on the price.")
    message = error_of(write(tmp_path, """\
        name: Twice
        documents: [product/faq.md, other/faq.md, product]
        agents:
          - persona: {name: Ana}
            documents: [mine/sheet.md]
          - persona: {name: Ben}
            documents: [product/sheet.md, review.txt]
        script: [{run: 1}]
        """))
    assert "study.yaml:2: documents.1: 'other/faq.md' holds a document called 'faq.md', as 'product/faq.md' does" \
        in message
    assert "study.yaml:5: agents.0.documents.0: 'mine/sheet.md' holds a document called 'sheet.md', as the shared " \
           "'product' does" in message
    # the same file twice (a folder and one of its files; an agent's copy of a shared file) loses nothing
    assert "documents.2" not in message and "agents.1" not in message


def test_consult_needs_documents_and_known_agents(tmp_path: Path) -> None:
    docs(tmp_path)
    message = error_of(write(tmp_path, """\
        name: Bad
        agents:
          - persona: {name: Ana}
            documents: product
          - persona: {name: Ben}
        script:
          - consult: {Ana: price}
          - consult: {Ben: price}
          - consult: {"*": price}
          - consult: {Zed: price}
          - run: 1
        """))
    assert "study.yaml:8: script.1.consult.Ben: 'Ben' has no documents to consult; give it 'documents:'" in message
    assert "study.yaml:9: script.2.consult.*: '*' includes agents without documents (Ben)" in message
    assert "study.yaml:10: script.3.consult.Zed: no agent is named 'Zed'" in message
    assert "script.0" not in message
    population = error_of(write(tmp_path, """\
        name: Bad
        population: {size: 2, names: [Cy, Di]}
        script: [{consult: {"*": price}}, {run: 1}]
        """))
    assert "script.0.consult.*: '*' includes agents without documents (Cy, Di)" in population
    shared = write(tmp_path, """\
        name: Fine
        documents: product
        population: {size: 2, names: [Cy, Di]}
        script: [{consult: {"*": price}}, {run: 1}]
        """)
    assert load_scenario(shared).documents is not None  # the shared documents are everyone's


def test_bad_spec_values_and_items(tmp_path: Path) -> None:
    docs(tmp_path)
    message = error_of(write(tmp_path, """\
        name: Bad
        documents: {paths: [product], top_k: 0, embedder: bert}
        agents: [{persona: {name: Ana}, documents: []}]
        script:
          - consult: {Ana: price}
            run: 1
        """))
    assert "documents.top_k: Input should be greater than or equal to 1" in message
    assert "documents.embedder: Input should be 'use', 'hash', 'openai' or 'none'" in message
    assert "agents.0.documents.paths: List should have at least 1 item" in message
    assert "exactly one of: broadcast, run, listen, think, see, internalize_goal, context, story, lesson, quiz, " \
           "consult (found ['consult', 'run'])" in message


# ---------------------------------------------------------------------------------------- images

def test_images_are_checked_and_shown_to_everyone_first(tmp_path: Path) -> None:
    Image.new("RGB", (64, 32), "red").save(tmp_path / "poster.png")
    (tmp_path / "fake.png").write_text("not an image")
    uncaptioned = error_of(write(tmp_path, """\
        name: Bad
        agents: [{persona: {name: Ana}}]
        images: [{file: poster.png}]
        script: [{run: 1}]
        """))
    assert "study.yaml:3: images.0.description: Field required" in uncaptioned
    bad = error_of(write(tmp_path, """\
        name: Bad
        agents: [{persona: {name: Ana}}]
        images:
          - {file: fake.png, description: the poster}
          - {file: gone.png, description: the other poster}
        script: [{run: 1}]
        """))
    assert "study.yaml:4: images.0.file: 'fake.png': is not an image Pillow can read" in bad
    assert f"study.yaml:5: images.1.file: no image file 'gone.png' next to the scenario (in {tmp_path.resolve()})" \
        in bad
    scenario = load_scenario(write(tmp_path, """\
        name: Poster
        agents: [{persona: {name: Ana}}, {persona: {name: Ben}}]
        images: [{file: poster.png, description: the red poster of our new bottle}]
        script: [{broadcast: What do you think of the poster?}, {run: 1}]
        """))
    seen: dict[str, list[str]] = {}

    def respond(request: LLMRequest) -> Any:
        seen[agent_of(request)] = [action_prompt(request)]
        return turn(("TALK", "It is very red."))

    from tinytroupe.aio import run_sync

    world, _ = run_sync(arun_scenario(scenario, client=LLMClient(ScriptedBackend(respond)), base_dir=tmp_path))
    for agent in world.agents:
        visual = [m for m in agent.memory.items() if m.type == "VISUAL"]
        assert len(visual) == 1 and visual[0].content.startswith("the red poster of our new bottle (image img-")
        assert visual[0].attachment is not None and visual[0].attachment.name == "poster.png"
        assert "the red poster of our new bottle" in seen[agent.name][0]
    est = estimate_scenario(tmp_path / "study.yaml")
    assert est.calls == 2  # shown with its description: no call describes it


# ---------------------------------------------------------------------------------------- estimate

def test_documents_add_tokens_to_the_estimate_but_no_call(tmp_path: Path) -> None:
    docs(tmp_path)
    grounded = estimate_scenario(write(tmp_path, GROUNDED))
    plain = GROUNDED.replace("documents: {paths: [product], embedder: hash, top_k: 3}\n", "") \
        .replace("    documents: {paths: [review.txt], embedder: hash}\n", "") \
        .replace("  - consult: {\"*\": \"price and battery\"}\n  - consult: {Ben: \"dishwasher\"}\n", "")
    bare = estimate_scenario(write(tmp_path, plain))
    assert grounded.calls == bare.calls == 2 * 2 + 2
    # Ana: the faculty's actions and 3 passages; Ben: his and 5 + 5 passages of his own top_k
    extra = {name: grounded.first_prompt_tokens[name] - bare.first_prompt_tokens[name] for name in ("Ana", "Ben")}
    assert 3 * 200 < extra["Ana"] < 3 * 200 + 400 and 2 * 1000 < extra["Ben"] < 2 * 1000 + 500
    assert any("CONSULT of their own accord" in note for note in grounded.assumptions)
    assert not any("CONSULT" in note for note in bare.assumptions)


# ---------------------------------------------------------------------------------------- the example

def test_the_grounded_example_runs_offline(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "grounded_focus_group.yaml"), "-b", "scripted", "-q",
                                      "-o", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "results.json").read_text())["results"]
    assert set(rows) == {"Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira"}
    assert all(r["status"] == "ok" and {"price_eur", "battery_weeks", "rating"} <= set(r) for r in rows.values())
    events = [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]
    consults = [e for e in events if e["kind"] == "document" and e["operation"] == "consult"
                and e["query"] == "price, battery life and dishwasher"]
    assert {e["agent"] for e in consults} == set(rows)
    shown = {e["agent"]: {c.split("#")[0] for c in e["chunk_ids"]} for e in consults}
    assert shown["Lisa Brennan"] == {"product_sheet.md", "faq.md"}
    assert "smart_bottle_review.md" in shown["Oscar Villanueva"]
