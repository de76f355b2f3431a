"""An image study end to end against the mock OpenAI server on 127.0.0.1: three people are shown an ad,
asked about it, answer from what they saw (the server answers only requests that carry the image),
and their ratings are extracted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tinytroupe.agent import TinyPerson
from tinytroupe.config import Settings, using_settings
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.devtools.mock_openai_server.replies import requested_schema
from tinytroupe.devtools.mock_openai_server.vision import received_images, text_of
from tinytroupe.environment import TinyWorld
from tinytroupe.extraction import ResultsExtractor
from tinytroupe.llm import LLMClient
from tinytroupe.llm.openai_backend import OpenAIBackend

pytestmark = pytest.mark.integration


def reply(body: dict[str, Any]) -> Any:
    schema = requested_schema(body) or {}
    text = "\n".join(text_of(m.get("content")) for m in body.get("messages", []))
    if "rating" in json.dumps(schema.get("properties", {})):
        found = re.search(r"rate it (\d)", text)
        return {"rating": int(found.group(1)) if found else 0, "reason": "from the conversation"}
    images = received_images(body)
    if images and images[0].mime == "image/png" and images[0].detail == "high":
        said = "I would rate it 7: the red bicycle on the poster looks sturdy."
    else:
        said = "I cannot see any poster."
    return {"actions": [{"type": "TALK", "content": said, "target": ""}, {"type": "DONE", "content": "", "target": ""}],
            "cognitive_state": {"goals": "", "context": [], "attention": "", "emotions": "calm"}}


def test_people_see_an_ad_answer_about_it_and_their_ratings_are_extracted(tmp_path: Path) -> None:
    ad = tmp_path / "ad.png"
    canvas = Image.new("RGB", (1600, 900), "white")
    ImageDraw.Draw(canvas).rectangle((400, 200, 1200, 700), fill="red")
    canvas.save(ad, format="PNG")
    settings = Settings(openai={"vision_model": "vision-m", "vision_detail": "high"},
                        vision={"store_dir": str(tmp_path / "store")}, memory={"embedder": "hash"})
    with using_settings(settings), MockOpenAIServer(reply_fn=reply) as server:
        client = LLMClient(OpenAIBackend(model="text-m", base_url=server.base_url, api_key="k", timeout=20))
        people = [TinyPerson(name) for name in ("Ana", "Ben", "Cai")]
        world = TinyWorld("Panel", people, client=client, broadcast_if_no_target=False)
        for person in people:
            person.see(image=ad, description="the poster of a new bicycle")
        world.broadcast("What do you think of the poster? Rate it 0-9.", source="Moderator")
        world.run(1, parallelize=True)
        ratings = ResultsExtractor("each person's rating of the poster", fields={"rating": "int", "reason": "str"},
                                   client=client).extract_results_from_agents(people)
        turns = [b for b in server.chat_requests() if b.get("model") == "vision-m"]
    assert len(turns) == 3 and all(len(received_images(b)) == 1 for b in turns)
    said = [[i.content for i in p.memory.items() if i.kind == "action" and i.type == "TALK"] for p in people]
    assert all(s and s[0].startswith("I would rate it 7") for s in said)
    assert [r["rating"] for r in ratings] == [7, 7, 7]
