"""A world run from Python shows its conversation live, as TinyTroupe's does, unless told not to.

On by default (``[Simulation] COMMUNICATION_DISPLAY``); off per world (``communication_display=False``),
for every world (TinyTroupe's ``TinyWorld.communication_display = False``), or through the settings
(environment, config file, ``using_settings``). Never printed twice: not when ``tinytroupe run`` or
the user already shows the world, not when a run broadcasts from inside.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import DONE_TURN, START, make_world, policy_client, turn
from rich.console import Console
from typer.testing import CliRunner

from tinytroupe.agent import TinyPerson
from tinytroupe.cli import app
from tinytroupe.config import Settings, load_settings, using_settings
from tinytroupe.display import ConsoleDisplay
from tinytroupe.environment import TinySocialNetwork, TinyWorld
from tinytroupe.llm import LLMRequest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def chat(name: str, request: LLMRequest) -> dict[str, Any]:
    if name == "Ana":
        return turn(("THINK", "they look tired"), ("TALK", "Shall we start?", "Ben"))
    return turn(("TALK", "Yes, let's.", "Ana"))


def test_a_run_from_python_prints_the_conversation_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = make_world(["Ana", "Ben"], chat)
    assert capsys.readouterr().out == ""  # creating a world prints nothing
    subscribers = world.bus.subscriber_count  # the client's usage ledger
    world.broadcast("Welcome, everyone.")
    world.run(1)
    lines = capsys.readouterr().out.splitlines()
    assert "Someone (to everyone): Welcome, everyone." in lines
    assert any("Room · step 1 · 2025-01-06T09:00:00" in line for line in lines)
    assert "Ana thinks: they look tired" in lines
    assert "Ana → Ben: Shall we start?" in lines
    assert "Ben → Ana: Yes, let's." in lines
    assert len(lines) == 5  # each once, nothing else
    assert world.bus.subscriber_count == subscribers  # the display is attached only while the world runs


def test_every_step_of_a_run_is_shown_as_it_happens(capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = make_world(["Ana", "Ben"], chat, parallelize=False)
    world.run(2)
    out = capsys.readouterr().out
    assert out.count("Ana → Ben: Shall we start?") == 2
    assert out.index("step 1") < out.index("Ana → Ben") < out.index("step 2")


@pytest.mark.parametrize("how", ["argument", "class switch", "using_settings", "environment", "config.ini"])
def test_one_setting_turns_it_off(how: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:
    client, _ = policy_client(chat)
    kwargs: dict[str, Any] = {}
    settings: Settings | None = None
    if how == "argument":
        kwargs["communication_display"] = False
    elif how == "class switch":
        monkeypatch.setattr(TinyWorld, "communication_display", False)  # TinyTroupe scripts do this
    elif how == "using_settings":
        settings = Settings(simulation={"communication_display": False})
    elif how == "environment":
        settings = load_settings(env={"TINYTROUPE_SIMULATION__COMMUNICATION_DISPLAY": "false"}, cwd=tmp_path)
    else:
        (tmp_path / "config.ini").write_text("[Simulation]\nCOMMUNICATION_DISPLAY = False\n")
        settings = load_settings(env={}, cwd=tmp_path)
    if settings is not None:
        assert settings.simulation.communication_display is False
        with using_settings(settings):
            world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], initial_datetime=START, client=client)
    else:
        world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], initial_datetime=START, client=client,
                          **kwargs)
    assert world.displays_communications() is False
    world.broadcast("Welcome")
    world.run(1)
    assert capsys.readouterr().out == ""
    assert len(world.agents[1].memory.items()) > 1  # the run did happen


def test_a_world_argument_wins_over_the_class_switch(capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TinyWorld, "communication_display", False)
    world, _ = make_world(["Ana", "Ben"], chat, communication_display=True)
    world.run(1)
    assert "Ana → Ben: Shall we start?" in capsys.readouterr().out


def test_a_users_own_display_is_not_doubled(capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = make_world(["Ana", "Ben"], chat)
    console = Console(file=io.StringIO(), record=True, width=120, color_system=None)
    mine = ConsoleDisplay(console).attach(world.bus)
    world.broadcast("Welcome")
    world.run(1)
    assert capsys.readouterr().out == ""  # the world saw a display already showing it
    lines = console.export_text().splitlines()
    assert lines.count("Ana → Ben: Shall we start?") == 1
    assert lines.count("Someone (to everyone): Welcome") == 1
    mine.detach()


def test_a_display_for_another_world_does_not_silence_this_one(capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = make_world(["Ana", "Ben"], chat)
    console = Console(file=io.StringIO(), record=True, width=120, color_system=None)
    ConsoleDisplay(console, world="Elsewhere").attach(world.bus)
    world.run(1)
    assert "Ana → Ben: Shall we start?" in capsys.readouterr().out
    assert console.export_text() == ""  # it shows only its own world


def test_a_broadcast_from_inside_a_run_is_shown_once(capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = make_world(["Ana", "Ben"], lambda n, r: DONE_TURN,
                          interventions=[lambda w: w.broadcast("Time is up.")])
    world.run(1)
    assert capsys.readouterr().out.count("Someone (to everyone): Time is up.") == 1


def test_agents_with_their_own_client_are_shown_too(capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = make_world(["Ana"], chat)
    own_client, _ = policy_client(lambda n, r: turn(("TALK", "I brought my own model", "Ana")))
    world.add_agent(TinyPerson("Ben", client=own_client))  # publishes on its world's bus all the same
    subscribers = own_client.bus.subscriber_count
    world.run(1)
    out = capsys.readouterr().out
    assert "Ben → Ana: I brought my own model" in out and "Ana → Ben: Shall we start?" in out
    assert out.count("I brought my own model") == 1
    assert own_client.bus.subscriber_count == subscribers
    assert world.bus is not own_client.bus and own_client.get_cost_stats()["by_agent"]["Ben"]["calls"] == 1


def test_a_talk_that_reaches_nobody_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    client, _ = policy_client(lambda n, r: turn(("TALK", "Anyone?", "")) if n == "Ana" else DONE_TURN)
    net = TinySocialNetwork("Club", client=client, initial_datetime=START)
    net.add_agents([TinyPerson("Ana"), TinyPerson("Ben")])  # members, but nobody is related
    net.run(1)
    assert "(Ana's message was not delivered: Ana has no relations in Club)" in capsys.readouterr().out


def test_tinytroupe_run_shows_the_conversation_once_and_quiet_shows_none(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["run", str(EXAMPLES / "focus_group.yaml"), "-b", "scripted", "-o", str(tmp_path)]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    # The CLI's display only, not the world's too: two steps (discussion, last question), each shown once,
    # and the demo model has Lisa say one thing per turn.
    assert shown.output.count("Focus room · step 1") == 1 and shown.output.count("Focus room · step") == 2
    talk_lines = [line for line in shown.output.splitlines() if line.startswith("Lisa Brennan: ")]
    assert len(talk_lines) == 2
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert "step 1" not in quiet.output and "Lisa Brennan: " not in quiet.output


def test_a_script_shows_the_conversation_and_importing_prints_nothing(tmp_path: Path) -> None:
    script = tmp_path / "study.py"
    script.write_text(
        "import tinytroupe\n"
        "from tinytroupe import TinyWorld\n"
        "from tinytroupe.agent import TinyPerson\n"
        "from tinytroupe.llm import LLMClient\n"
        "from tinytroupe.llm.demo import demo_backend\n"
        "world = TinyWorld('Cafe', [TinyPerson('Ana'), TinyPerson('Ben')], client=LLMClient(demo_backend()))\n"
        "world.make_everyone_accessible()\n"
        "world.broadcast('What do you order here?')\n"
        "world.run(1)\n", encoding="utf-8")
    env_off = {"TINYTROUPE_SIMULATION__COMMUNICATION_DISPLAY": "false"}
    runs = {}
    for label, extra in (("on", {}), ("off", env_off)):
        proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **extra})
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[label] = proc.stdout
    assert "Someone (to everyone): What do you order here?" in runs["on"]
    assert "Cafe · step 1" in runs["on"] and "Ana: " in runs["on"] and "Ben: " in runs["on"]
    assert runs["off"] == ""


def test_an_agent_display_does_not_stand_in_for_a_worlds_display() -> None:
    from tinytroupe.agent.person_display import AgentDisplay
    from tinytroupe.display import display_for
    from tinytroupe.events import EventBus

    bus = EventBus()
    AgentDisplay("Lone").attach(bus)  # an agent outside any world, displaying on the shared bus
    assert display_for(bus, "Room") is None  # so a world starting now attaches its own
    whole = ConsoleDisplay().attach(bus)
    assert display_for(bus, "Room") is whole


def test_a_world_shows_its_run_while_an_outside_agent_displays_on_the_same_bus(
        capsys: pytest.CaptureFixture[str]) -> None:
    world, _ = make_world(["Ana", "Ben"], chat)
    lone = TinyPerson("Lone", client=world.client)  # outside any world, on the world's bus
    with lone._displaying(True, None):  # as while it acts with communication_display=True
        world.run(1)
    assert "Ana → Ben: Shall we start?" in capsys.readouterr().out
