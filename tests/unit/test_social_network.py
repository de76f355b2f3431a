"""TinySocialNetwork: relations, accessibility from relations, REACH_OUT along relations."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import DONE_TURN, START, done_client, heard, policy_client, turn

from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinySocialNetwork
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
        if name == "Ana":
            return turn(("REACH_OUT", "", "Cid"))
        if name == "Cid":
            return turn(("REACH_OUT", "", "Ben"))
        return DONE_TURN

    net, ana, ben, cid = network(policy)
    net.run(1)
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
