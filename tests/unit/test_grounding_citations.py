"""Citations of document passages: the turn schema's ``cites`` field offers only the ids an agent was shown,
the ids a model cites are traced ``by="model"``, an answer that cites nothing but uses a passage is
attributed ``by="overlap"`` (and an unrelated one is not), and ids never shown are warned about."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from grounding_files import handbook

from tinytroupe.agent import FilesAndWebGroundingFaculty, TinyPerson
from tinytroupe.agent.actions import Action, action_turn_spec
from tinytroupe.agent.grounding_faculty import MAX_CITABLE
from tinytroupe.events import Event, WarningEvent
from tinytroupe.grounding import DocumentEvent
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.skeleton import SkeletonFiller

pytest.importorskip("bm25s", reason="document retrieval ranks with the tools extra (pip install 'tinytroupe[tools]')")

ASK = {"actions": [{"type": "CONSULT", "content": "When is the canteen open? Where do visitors park?"},
                   {"type": "DONE"}]}
SHOWN = ["canteen.md#1", "parking.txt#1"]


def _ana(tmp_path: Path, turns: list[Any], **faculty: Any) -> tuple[TinyPerson, ScriptedBackend, list[Event]]:
    backend = ScriptedBackend(turns)
    ana = TinyPerson("Ana", client=LLMClient(backend))
    ana.add_mental_faculty(FilesAndWebGroundingFaculty([handbook(tmp_path)], embedder=False, **faculty))
    seen: list[Event] = []
    ana.context.bus.subscribe(seen.append, kinds=["document", "warning"])
    return ana, backend, seen


def _said(action: dict[str, Any]) -> dict[str, Any]:
    return {"actions": [action, {"type": "DONE"}]}


def _cites(seen: list[Event]) -> list[DocumentEvent]:
    return [e for e in seen if isinstance(e, DocumentEvent) and e.operation == "cite"]


def test_the_turn_schema_offers_only_the_ids_the_agent_was_shown(tmp_path: Path) -> None:
    ana, backend, seen = _ana(tmp_path, [ASK, _said({"type": "THINK", "content": "Noted."})])
    ana.listen_and_act("Hi")
    consult = next(e for e in seen if isinstance(e, DocumentEvent) and e.operation == "consult")
    assert sorted(consult.chunk_ids) == SHOWN
    ana.listen_and_act("So?")
    before, after = (r.response_schema for r in list(backend.requests)[-2:])
    assert before is not None and after is not None
    assert "CitingAction" not in before["$defs"]  # nothing shown yet: the schema is the plain one
    citing = after["$defs"]["CitingAction"]["properties"]
    assert citing["cites"]["items"]["enum"] == ["", *SHOWN] and citing["type"]["enum"] == ["TALK", "THINK"]
    assert "TALK" not in after["$defs"]["LLMAction"]["properties"]["type"]["enum"]

    class Inventing:  # a model that writes ids of its own: constrained decoding still picks a shown one
        def generate(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> str:
            return "THINK" if prompt.endswith('"type": "') else "handbook/secret.md#7"

        def choose(self, prompt: str, options: Sequence[str]) -> str:
            return "]" if "]" in options else options[-1]

    value = SkeletonFiller(Inventing()).fill("", after).value
    cited = [c for a in value["actions"] for c in a.get("cites", [])]
    assert cited and set(cited) <= {"", *SHOWN}


def test_the_citable_ids_are_the_latest_shown_and_each_set_is_one_cached_schema(tmp_path: Path) -> None:
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(12):
        (docs / f"room{i:02d}.txt").write_text(f"Room {i} has {i + 2} chairs and a window facing street {i}.")
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([])))
    faculty = FilesAndWebGroundingFaculty([docs], embedder=False, top_k=5)
    ana.add_mental_faculty(faculty)
    for query in ("room 1 room 2 room 3 room 4 room 5", "room 6 room 7 room 8 room 9 room 10", "room 11 chairs"):
        faculty.process_action(ana, Action(type="CONSULT", content=query))
    ids = faculty.citable_ids(ana)
    assert len(ids) == MAX_CITABLE and "room11.txt#1" in ids and ids == tuple(dict.fromkeys(ids))
    types = ana.actions_registry.types
    spec = action_turn_spec(types, 2, citable=ana._citable_ids())
    assert spec.schema is action_turn_spec(types, 2, citable=ana._citable_ids()).schema
    assert spec.schema is not action_turn_spec(types, 2, citable=ids[:-1]).schema
    assert "CitingAction" not in action_turn_spec(types, 2).schema["$defs"]


def test_ids_cited_in_the_field_are_traced_by_the_model_and_kept_out_of_its_words(tmp_path: Path) -> None:
    answer = _said({"type": "TALK", "content": "It opens early.", "cites": ["canteen.md#1", ""]})
    ana, _, seen = _ana(tmp_path, [ASK, answer])
    ana.listen_and_act("Hi")
    actions = ana.listen_and_act("When can I eat?", return_actions=True)
    assert actions is not None and actions[0].cites == ["canteen.md#1"]
    [cite] = _cites(seen)
    assert (cite.chunk_ids, cite.by, cite.action, cite.scores) == (["canteen.md#1"], "model", "TALK", [])
    assert ana.memory.items()[-2].content == "It opens early."  # the TALK, as said (DONE is last)
    assert "cites" not in actions[0].model_dump()  # prompts and judges see what was said


def test_text_citations_still_count_as_the_models(tmp_path: Path) -> None:
    ana, _, seen = _ana(tmp_path, [ASK, _said({"type": "THINK", "content": "Eight to three [canteen.md#1]."})])
    ana.listen_and_act("Hi")
    ana.listen_and_act("When?")
    [cite] = _cites(seen)
    assert (cite.chunk_ids, cite.by) == (["canteen.md#1"], "model")


def test_an_answer_that_uses_a_passage_without_citing_is_attributed_by_overlap(tmp_path: Path) -> None:
    answer = _said({"type": "TALK", "content": "From eight to three, on weekdays only."})
    ana, _, seen = _ana(tmp_path, [ASK, answer])
    ana.listen_and_act("Hi")
    ana.listen_and_act("When?")
    [cite] = _cites(seen)
    assert (cite.chunk_ids, cite.by, cite.action) == (["canteen.md#1"], "overlap", "TALK")
    assert cite.scores == [1.0]
    assert ana.memory.items()[-2].content == "From eight to three, on weekdays only."  # nothing written in


@pytest.mark.parametrize("content", ["I love the weather today.", "I have no idea when the canteen is open.",
                                     "Three of us are going to the canteen."])
def test_an_unrelated_answer_is_not_attributed(tmp_path: Path, content: str) -> None:
    ana, _, seen = _ana(tmp_path, [ASK, _said({"type": "TALK", "content": content})])
    ana.listen_and_act("Hi")
    ana.listen_and_act("When?")
    assert _cites(seen) == []


def test_attribution_can_be_turned_off_and_is_saved_with_the_faculty(tmp_path: Path) -> None:
    ana, _, seen = _ana(tmp_path, [ASK, _said({"type": "TALK", "content": "From eight to three."})],
                        attribution=False)
    ana.listen_and_act("Hi")
    ana.listen_and_act("When?")
    assert _cites(seen) == []
    faculty = ana.mental_faculties[0]
    again = FilesAndWebGroundingFaculty.from_spec(faculty.to_spec())
    assert isinstance(again, FilesAndWebGroundingFaculty) and again.attribution is False


def test_a_restored_agent_can_cite_and_is_attributed_the_passages_it_was_shown(tmp_path: Path) -> None:
    ana, _, _ = _ana(tmp_path, [ASK])
    ana.listen_and_act("Hi")
    later = [_said({"type": "TALK", "content": "From eight to three, weekdays."})]
    (tmp_path / "b").mkdir()
    back, backend, seen = _ana(tmp_path / "b", later)  # a fresh agent, its faculty restored from Ana's state
    back.apply_state(ana.state_model())
    assert back._citable_ids() == tuple(SHOWN)
    back.listen_and_act("When?")
    [request] = list(backend.requests)
    assert request.response_schema is not None and "CitingAction" in request.response_schema["$defs"]
    [cite] = _cites(seen)
    assert (cite.chunk_ids, cite.by) == (["canteen.md#1"], "overlap")


def test_ids_never_shown_are_warned_about_and_not_traced(tmp_path: Path) -> None:
    answer = _said({"type": "THINK", "content": "Nice weather [nope.md#2].", "cites": ["ghost.md#3"]})
    ana, _, seen = _ana(tmp_path, [ASK, answer])
    ana.listen_and_act("Hi")
    ana.listen_and_act("Well?")
    assert _cites(seen) == []
    [warning] = [e for e in seen if isinstance(e, WarningEvent)]
    assert warning.code == "unknown_citation"
    assert "nope.md#2" in warning.message and "ghost.md#3" in warning.message


def test_cites_are_validated_leniently_and_the_schema_keeps_typed_variants() -> None:
    spec = action_turn_spec(("TALK", "THINK", "DONE"), 2, citable=("a.md#1",))
    answer = {"actions": [{"type": "TALK", "content": "x", "cites": ["[a.md#1]", "", "a.md#1"]},
                          {"type": "THINK", "content": "y", "cites": "b.md#2"}, {"type": "DONE"}]}
    batch = spec.model.model_validate(answer, context=spec.context)
    assert [a.cites for a in batch.actions] == [["a.md#1"], ["b.md#2"], []]  # type: ignore[attr-defined]
    from tinytroupe.agent.action_schema import typed_argument_key

    typed = typed_argument_key({"ADD": {"type": "object", "properties": {"n": {"type": "integer"}}}})
    both = action_turn_spec(("TALK", "ADD", "DONE"), 2, typed_arguments=typed, citable=("a.md#1",)).schema
    refs = [b["$ref"] for b in both["properties"]["actions"]["items"]["anyOf"]]
    assert refs == ["#/$defs/LLMAction", "#/$defs/CitingAction", "#/$defs/Action_ADD"]
    assert both["$defs"]["LLMAction"]["properties"]["type"]["enum"] == ["DONE"]
