"""Agents and images: the vision request's shape on a real local server, the text-only path (described once,
remembered with its embedding), no description invented, SHOW reaching another agent, state round trips."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import START, turn
from PIL import Image

from tinytroupe.agent import TinyPerson
from tinytroupe.agent.memory import EpisodicMemory
from tinytroupe.config import Settings, using_settings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import ImageError
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.openai_backend import OpenAIBackend


def write_png(path: Path, size: tuple[int, int] = (1200, 600), colour: str = "red") -> Path:
    Image.new("RGB", size, colour).save(path, format="PNG")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    chosen = Settings(openai={"vision_model": "vision-m", "vision_detail": "low"},
                      vision={"store_dir": str(tmp_path / "store"), "max_side": 256}, memory={"embedder": "hash"})
    with using_settings(chosen):
        yield chosen


@pytest.fixture
def text_only_settings(tmp_path: Path) -> Iterator[Settings]:
    with using_settings(Settings(vision={"store_dir": str(tmp_path / "store")}, memory={"embedder": "hash"})):
        yield Settings()


def chat_bodies(server: MockOpenAIServer) -> list[dict[str, Any]]:
    return server.chat_requests()


def test_a_vision_model_gets_the_image_as_a_content_part_with_the_detail(settings: Settings, tmp_path: Path) -> None:
    image = write_png(tmp_path / "ad.png")
    with MockOpenAIServer(replies=[turn(("TALK", "Nice red poster."))]) as server:
        backend = OpenAIBackend(model="text-m", base_url=server.base_url, api_key="k", timeout=10)
        ana = TinyPerson("Ana", client=LLMClient(backend))
        ana.see(image=image, description="the new poster")  # the model will see the pixels: no describing call
        assert server.requests == []
        actions = ana.act(return_actions=True)
        body = chat_bodies(server)[-1]
        received = server.requests[-1].images()
    assert actions is not None and actions[0].content == "Nice red poster."
    assert body["model"] == "vision-m"  # a turn with images asks the vision model
    user = body["messages"][-1]
    assert user["role"] == "user" and [p["type"] for p in user["content"]] == ["text", "image_url"]
    assert "the new poster" in user["content"][0]["text"]
    assert user["content"][1]["image_url"]["detail"] == "low"
    assert user["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert [(i.mime, i.detail) for i in received] == [("image/png", "low")]
    sent = Image.open(io.BytesIO(__import__("base64").b64decode(user["content"][1]["image_url"]["url"].split(",")[1])))
    assert sent.size == (256, 128)  # scaled down to [Vision] MAX_SIDE before sending
    assert "SHOW" in ana.actions_registry.types


def test_later_turns_send_no_image_again(settings: Settings, tmp_path: Path) -> None:
    with MockOpenAIServer(replies=[turn(), turn()]) as server:
        ana = TinyPerson("Ana", client=LLMClient(OpenAIBackend(model="text-m", base_url=server.base_url, api_key="k")))
        ana.see(image=write_png(tmp_path / "a.png"), description="a poster")
        ana.act()
        ana.listen("And now?")
        ana.act()
        bodies = chat_bodies(server)
    assert isinstance(bodies[0]["messages"][-1]["content"], list)
    assert isinstance(bodies[1]["messages"][-1]["content"], str) and bodies[1]["model"] == "text-m"


def test_a_text_only_agent_has_the_image_described_once_and_remembers_it(settings: Settings, tmp_path: Path) -> None:
    image = write_png(tmp_path / "bike.png", colour="blue")
    scripted = ScriptedBackend([turn(("TALK", "I saw a bicycle."))])
    with MockOpenAIServer(replies=["A red bicycle leans against a blue wall."]) as server:
        ana = TinyPerson("Ana", client=LLMClient(scripted))
        ana.vision_client = LLMClient(OpenAIBackend(model="vision-m", base_url=server.base_url, api_key="k"))
        ana.see(image=image, description="my new bike")
        ana.see(image=image)  # the same image again: remembered, not described again
        described = chat_bodies(server)
        ana.act()
    assert len(described) == 1 and described[0]["model"] == "vision-m"
    parts = described[0]["messages"][0]["content"]
    assert parts[1]["image_url"]["detail"] == "low" and "my new bike" in parts[0]["text"]
    seen = [i for i in ana.memory.items() if i.attachment is not None]
    assert len(seen) == 2 and seen[0].attachment is not None
    first = seen[0].attachment
    assert first.description == "A red bicycle leans against a blue wall." and first.described_by == "vision-m"
    assert first.path == str(image.resolve()) and not first.stored
    assert seen[0].content.startswith("my new bike — A red bicycle leans against a blue wall. (image img-")
    # the text-only model reads the description, never an image
    prompt = scripted.requests[-1].messages[-1]
    assert prompt.images is None and "A red bicycle leans against a blue wall." in prompt.content
    # the description is embedded: relevance retrieval finds it
    found = ana.retrieve_relevant_memories("red bicycle against a wall", top_k=3)
    assert any("bicycle" in m.content for m in found)


def test_no_description_and_no_vision_model_is_an_error_not_an_invention(text_only_settings: Settings,
                                                                          tmp_path: Path) -> None:
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend([])))
    with pytest.raises(ImageError, match="no description") as info:
        ana.see(image=write_png(tmp_path / "x.png"))
    assert info.value.reason == "no_description" and "x.png" in str(info.value)
    assert ana.memory.items() == [] and "SHOW" not in ana.actions_registry.types


def test_a_given_description_is_used_as_is_without_a_vision_model(text_only_settings: Settings) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "green").save(buf, format="JPEG")
    backend = ScriptedBackend([])
    ana = TinyPerson("Ana", client=LLMClient(backend)).see(image=buf.getvalue(), description="a green square")
    item = ana.memory.items()[-1]
    assert item.attachment is not None and item.attachment.stored and item.attachment.described_by == "given"
    assert Path(item.attachment.path).read_bytes() == buf.getvalue()  # the copy kept by content hash
    assert backend.calls == 0


def test_bad_images_leave_memory_as_it_was(text_only_settings: Settings, tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    ana = TinyPerson("Ana")
    with pytest.raises(ImageError, match=r"fake\.png"):
        ana.see(image=[write_png(tmp_path / "ok.png"), fake], description="two pictures")
    assert len(ana.memory.items()) == 1  # the first one was seen; nothing was made up for the second
    with pytest.raises(ImageError, match="ALLOW_URLS"):
        ana.see(image="https://example.org/cat.png", description="a cat")
    ana.see("a plain sunset")  # the text-only signature still works
    assert ana.memory.items()[-1].content == "a plain sunset" and ana.memory.items()[-1].attachment is None


def test_show_reaches_another_agent_with_the_image(text_only_settings: Settings, tmp_path: Path) -> None:
    image = write_png(tmp_path / "plan.png", colour="white")
    ana_replies: list[dict[str, Any]] = []
    ana = TinyPerson("Ana", client=LLMClient(ScriptedBackend(lambda r: ana_replies.pop(0))))
    ben = TinyPerson("Ben", client=LLMClient(ScriptedBackend(lambda r: turn())))
    world = TinyWorld("Office", [ana, ben], initial_datetime=START)
    world.make_everyone_accessible()
    ana.see(image=image, description="the floor plan of the new office")
    image_id = ana.memory.items()[-1].attachment.id  # type: ignore[union-attr]
    ana_replies += [turn(("SHOW", image_id, "Ben")), turn(("SHOW", "img-nothere", "Ben"))]
    world.run(1, parallelize=False, randomize_agents_order=False)
    shown = [i for i in ben.memory.items() if i.attachment is not None]
    assert len(shown) == 1 and shown[0].source == "Ana" and shown[0].type == "VISUAL"
    assert shown[0].attachment is not None and shown[0].attachment.id == image_id
    assert shown[0].content.startswith("Ana shows you an image — the floor plan of the new office (image img-")
    assert "SHOW" in ben.actions_registry.types
    world.run(1, parallelize=False, randomize_agents_order=False)
    assert any("remember no image by that id" in i.content for i in ana.memory.items())


def test_image_memories_round_trip_and_plain_items_dump_as_before(text_only_settings: Settings,
                                                                   tmp_path: Path) -> None:
    ana = TinyPerson("Ana").listen("hi", "Ben").see(image=write_png(tmp_path / "p.png"), description="a poster")
    state = ana.memory.to_state()
    assert "attachment" not in state["items"][0] and state["items"][1]["attachment"]["description"] == "a poster"
    again = EpisodicMemory.from_state(state)
    assert again.items()[1].attachment == ana.memory.items()[1].attachment
    assert again.items()[0].model_dump() == ana.memory.items()[0].model_dump()
