"""TinySocialNetwork: relations, accessibility from relations, REACH_OUT and TALK along relations."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from helpers import DONE_TURN, START, done_client, heard, policy_client, turn

from tinytroupe.agent import Action, TinyPerson
from tinytroupe.environment import TinySocialNetwork, TinyWorld
from tinytroupe.events import Event
from tinytroupe.llm import LLMRequest


def network(policy: Any = None) -> tuple[TinySocialNetwork, TinyPerson, TinyPerson, TinyPerson]:
    client, _ = policy_client(policy or (lambda n, r: DONE_TURN))
    net = TinySocialNetwork("Office", initial_datetime=START, client=client)
    ana, ben, cid = TinyPerson("Ana"), TinyPerson("Ben"), TinyPerson("Cid")
    net.add_relation(ana, ben, "colleagues").add_relation(ana, ben, "friends").add_relation(ben, cid, "family")
    return net, ana, ben, cid


def test_relations_are_recorded_by_name() -> None:
    net, ana, ben, cid = network()
    assert [a.name for a in net.agents] == ["Ana", "Ben", "Cid"]  # add_relation adds the agents
    assert net.relations == {"colleagues": [("Ana", "Ben")], "friends": [("Ana", "Ben")],
                             "family": [("Ben", "Cid")]}
    assert net.is_in_relation_with(ana, ben) and net.is_in_relation_with(ben, ana)  # undirected
    assert net.is_in_relation_with(ana, ben, "friends")
    assert not net.is_in_relation_with(ana, ben, "family")
    assert not net.is_in_relation_with(ana, cid)
    net.add_relation(ana, ben, "colleagues")  # idempotent
    assert net.relations["colleagues"] == [("Ana", "Ben")]
    with pytest.raises(ValueError, match="with itself"):
        net.add_relation(ana, ana)


def test_accessibility_is_reset_from_relations_at_each_step() -> None:
    net, ana, ben, cid = network()
    ana.make_agent_accessible(cid)  # not a relation: must not survive the next step
    net.run(1)
    assert ana.accessible_agents == [ben]
    assert sorted(a.name for a in ben.accessible_agents) == ["Ana", "Cid"]
    assert cid.accessible_agents == [ben]
    prompt = ana.build_prompt()[-1].content
    assert "People you can talk to: Ben (related as: colleagues, friends)" in prompt


def test_reach_out_only_along_relations() -> None:
    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        if name == "Cid":
            return turn(("REACH_OUT", "", "Ben"))
        return DONE_TURN

    net, ana, ben, cid = network(policy)
    net.run(1)
    # Ana's turn schema does not offer Cid (not a relation); a REACH_OUT naming him anyway is refused.
    net._handle_actions(ana, [Action(type="REACH_OUT", content="", target="Cid")])
    ana_social = [i.content for i in ana.memory.items() if i.type == "SOCIAL"]
    assert ana_social == ["You tried to reach out to Cid, but you have no relation that allows it."]
    assert cid not in ana.accessible_agents and ana not in cid.accessible_agents
    cid_social = [i.content for i in cid.memory.items() if i.type == "SOCIAL"]
    assert cid_social == ["Ben was successfully reached out, and is now available for interaction."]
    assert any("Cid reached out to you" in i.content for i in ben.memory.items())


def test_run_delivers_talk_and_removing_an_agent_removes_its_relations() -> None:
    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        return turn(("TALK", "hi Ben", "Ben")) if name == "Ana" else DONE_TURN

    net, ana, ben, cid = network(policy)
    net.run(2)
    assert net.current_step == 2
    assert heard(ben) == [("Ana", "hi Ben")] * 2
    net.remove_agent(ben)
    assert net.relations == {}
    assert not net.graph.has_node("Ben")
    net.run(1)
    assert ana.accessible_agents == [] and cid.accessible_agents == []


def test_agents_added_without_relations_have_nobody_to_talk_to() -> None:
    client, _ = done_client()
    loner = TinyPerson("Loner")
    with pytest.raises(TypeError, match="broadcast_if_no_target must be True or False"):
        TinySocialNetwork("Club", [loner], client=client)  # type: ignore[arg-type]
    net = TinySocialNetwork("Club", agents=[loner], client=client)
    assert net.agents == [loner]
    loner.make_agent_accessible(TinyPerson("Ghost"))
    net.run(1)
    assert loner.accessible_agents == []


# ------------------------------------------------------------------------------------ speech keeps to relations

def talk_policy(lines: dict[str, tuple[str, str]]) -> Any:
    """Each named agent says ``(content, target)`` every turn; the others end their turn."""
    def policy(name: str, request: LLMRequest) -> dict[str, Any]:
        return turn(("TALK", *lines[name])) if name in lines else DONE_TURN
    return policy


def test_a_talk_without_a_target_reaches_only_the_speakers_relations() -> None:
    net, ana, ben, cid = network(talk_policy({"Ana": ("Hello, anyone?", ""), "Cid": ("Dinner at eight", "")}))
    assert net.broadcast_if_no_target  # TinyWorld would let both reach the whole network
    net.run(1)
    assert heard(ben) == [("Ana", "Hello, anyone?"), ("Cid", "Dinner at eight")]
    assert heard(cid) == []  # Ana and Cid are not related
    assert heard(ana) == []


def test_a_talk_to_an_unknown_name_goes_to_the_relations_only() -> None:
    net, ana, ben, cid = network(talk_policy({"Ana": ("Is the boss in?", "Boss")}))
    ana.listen("Call me when you can", source="Boss")  # not a member: Ana may still address the Boss
    net.run(1)
    assert heard(ben) == [("Ana", "Is the boss in?")] and heard(cid) == []


def test_a_talk_to_someone_unrelated_is_not_delivered_and_the_speaker_is_told(
        caplog: pytest.LogCaptureFixture) -> None:
    net, ana, ben, cid = network(talk_policy({"Ana": ("Cid, are you coming?", "Cid")}))
    warnings: list[Event] = []
    net.bus.subscribe(warnings.append, kinds=["warning"])
    net.broadcast("Hi all, I am Cid", source=cid)  # the world speaks to everyone; now Ana knows of Cid
    assert heard(ana) == [("Cid", "Hi all, I am Cid")]
    with caplog.at_level(logging.INFO, logger="tinytroupe.environment.world"):
        net.run(1)
    assert heard(cid) == [] and heard(ben) == [("Cid", "Hi all, I am Cid")]
    told = [i.content for i in ana.memory.items() if i.type == "SOCIAL"]
    assert told == ["Nobody heard what you just said to Cid: Cid is not among the people related to Ana in Office."]
    assert [(w.code, w.agent, w.world, w.data["target"]) for w in warnings] == [  # type: ignore[attr-defined]
        ("talk_not_delivered", "Ana", "Office", "Cid")]
    assert "Ana's message to Cid was not delivered" in caplog.text
    # ... and she sees it in her next prompt, so she can react (reach someone who can pass it on)
    assert "Nobody heard what you just said to Cid" in ana.build_prompt()[-1].content


def test_without_broadcast_an_untargeted_talk_reaches_nobody_and_the_speaker_is_told() -> None:
    client, _ = policy_client(talk_policy({"Ana": ("Hello?", "")}))
    net = TinySocialNetwork("Office", broadcast_if_no_target=False, initial_datetime=START, client=client)
    ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    net.add_relation(ana, ben, "colleagues")
    net.run(1)
    assert heard(ben) == []
    assert [i.content for i in ana.memory.items() if i.type == "SOCIAL"] == [
        "Nobody heard what you just said: no listener was named, and here only a named listener hears."]


def test_an_agent_without_relations_talks_to_nobody() -> None:
    client, _ = policy_client(talk_policy({"Dan": ("Hello?", "")}))
    net, ana, ben, cid = network()
    net.client = client
    dan = TinyPerson("Dan")
    net.add_agent(dan)
    net.run(1)
    assert heard(ana) == heard(ben) == heard(cid) == []
    assert [i.content for i in dan.memory.items() if i.type == "SOCIAL"] == [
        "Nobody heard what you just said: Dan has no relations in Office."]


def test_the_world_itself_still_speaks_to_everyone() -> None:
    net, ana, ben, cid = network()
    net.broadcast("The office closes at six.")
    assert all(heard(a) == [(None, "The office closes at six.")] for a in (ana, ben, cid))


def test_a_plain_world_tells_the_speaker_too_when_nobody_hears() -> None:
    # TinyWorld with broadcast_if_no_target=False drops such a TALK as TinyTroupe does, but not silently.
    client, _ = policy_client(talk_policy({"Ana": ("Are you there?", "Zoe")}))
    world = TinyWorld("Room", [TinyPerson("Ana"), TinyPerson("Ben")], broadcast_if_no_target=False,
                      initial_datetime=START, client=client)
    ana, ben = world.agents
    ana.listen("Call me back", source="Zoe")
    world.run(1)
    assert heard(ben) == []
    assert [i.content for i in ana.memory.items() if i.type == "SOCIAL"] == [
        "Nobody heard what you just said to Zoe: nobody named 'Zoe' is here."]


def test_talk_targets_offered_are_the_speakers_relations_only() -> None:
    from tinytroupe.environment.distributed.driver import shard_request
    from tinytroupe.environment.distributed.worker import _ShardEnvironment

    net, ana, ben, cid = network()
    dan = TinyPerson("Dan")
    net.add_agent(dan)  # in the network, related to nobody
    net.run(1)
    assert ana.target_choices() == ("", "Ben")  # not Cid: a TALK to Cid would not be delivered
    assert ben.target_choices() == ("", "Ana", "Cid")
    assert dan.target_choices() == ("",)
    # A sharded run sends each agent's reachable names along, so its schema is the same there.
    request = shard_request([ana, ben, cid, dan], step=1, world="Office", timeout=None, max_workers=None)
    env = _ShardEnvironment("Office", None, 1, net.client, request.present, request.reachable)
    assert env.reachable_names("Ana") == ["Ben"] and env.reachable_names("Dan") == []
    plain = TinyWorld("Room", [TinyPerson("Eve"), TinyPerson("Fay")])
    assert plain.agents[0].target_choices() == ("", "Fay")
    assert shard_request(plain.agents, step=1, world="Room", timeout=None, max_workers=None).reachable == {}
