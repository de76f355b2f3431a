"""TinyEmail: delivery to agents of a real world, mail kept in the run file, replays, threads, bounds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tinytroupe import control
from tinytroupe.agent import TinyPerson
from tinytroupe.environment import TinyWorld
from tinytroupe.errors import ToolArgumentError
from tinytroupe.llm import LLMClient, LLMRequest, ScriptedBackend
from tinytroupe.storage.mailboxes import MailStore
from tinytroupe.tools import TinyEmail, ToolCall
from tinytroupe.tools.email import Inbox, MailMessage, SendResult


def _reply(request: LLMRequest) -> dict[str, Any]:
    return {"actions": [{"type": "DONE"}],
            "cognitive_state": {"goals": "work", "context": ["office"], "attention": "mail", "emotions": "calm"}}


@pytest.fixture(autouse=True)
def _no_leftover_simulation() -> Any:
    yield
    control.reset()


def _office(client: LLMClient | None = None) -> tuple[TinyWorld, dict[str, TinyPerson]]:
    people = {n: TinyPerson(n) for n in ("Ana", "Ben", "Cai")}
    world = TinyWorld("Office", list(people.values()), initial_datetime=datetime(2025, 3, 3, 9), client=client)
    return world, people


def _as(tool: TinyEmail, agent: TinyPerson, action: str, args: dict[str, Any]) -> Any:
    return tool.call(action, args, ToolCall(tool.name, action, agent=agent))


def _send(tool: TinyEmail, agent: TinyPerson, **args: Any) -> SendResult:
    result = _as(tool, agent, "SEND_EMAIL", args)
    assert isinstance(result, SendResult)
    return result


def test_arrival_is_a_stimulus_and_unknown_addresses_are_refused() -> None:
    _, p = _office(LLMClient(ScriptedBackend(_reply)))
    email = TinyEmail()
    sent = _send(email, p["Ana"], to=["Ben", "Zed"], cc="Cai", subject="Budget", body="Numbers attached.")
    assert sent.delivered_to == ["Ben", "Cai"]
    assert [(r.address, r.reason) for r in sent.refused] == [("Zed", "nobody called 'Zed' in this world")]
    for name in ("Ben", "Cai"):
        last = p[name].memory.items()[-1]
        assert (last.content, last.source) == ("New email from Ana: Budget", "Ana")
    assert all("Budget" not in i.content for i in p["Ana"].memory.items()), "the sender gets no arrival"
    inbox = _as(email, p["Cai"], "LIST_INBOX", {})
    assert isinstance(inbox, Inbox) and [m.subject for m in inbox.messages] == ["Budget"]
    assert inbox.messages[0].to == ["Ben"] and inbox.unread == 1
    with pytest.raises(ToolArgumentError, match=r"not sent: no recipient could get it \(nobody called 'Zed'"):
        _send(email, p["Ana"], to=["Zed"], subject="x", body="y")
    with pytest.raises(ToolArgumentError, match="that is you"):
        _send(email, p["Ana"], to=["Ana"], subject="x", body="y")
    assert _as(email, p["Ben"], "LIST_INBOX", {}).total == 1, "refused sends stored nothing"


def test_unread_first_read_marks_and_limits() -> None:
    _, p = _office()
    email = TinyEmail()
    ids = [_send(email, p["Ana"], to=["Ben"], subject=f"s{i}", body=f"b{i}").message_id for i in range(4)]
    assert len(set(ids)) == 4
    first = _as(email, p["Ben"], "READ_EMAIL", {})
    assert isinstance(first, MailMessage) and (first.message_id, first.body) == (ids[0], "b0")
    listed = _as(email, p["Ben"], "LIST_INBOX", {"limit": 2})
    assert [m.subject for m in listed.messages] == ["s3", "s2"] and listed.truncated and listed.unread == 3
    assert [m.subject for m in _as(email, p["Ben"], "LIST_INBOX", {}).messages] == ["s3", "s2", "s1", "s0"]
    assert _as(email, p["Ben"], "MARK_READ", {"message_ids": ids[1:]}).updated == 3
    assert _as(email, p["Ben"], "LIST_INBOX", {"unread_only": True}).messages == []
    assert _as(email, p["Ben"], "MARK_READ", {"message_ids": [ids[2]], "read": False}).updated == 1
    assert [m.subject for m in _as(email, p["Ben"], "LIST_INBOX", {"unread_only": True}).messages] == ["s2"]
    sent = _as(email, p["Ana"], "LIST_INBOX", {"folder": "sent"})
    assert [m.subject for m in sent.messages] == ["s3", "s2", "s1", "s0"]
    with pytest.raises(ToolArgumentError, match="no message 'm-nope' in your mailbox"):
        _as(email, p["Ben"], "READ_EMAIL", {"message_id": "m-nope"})
    with pytest.raises(ToolArgumentError, match=f"no message '{ids[0]}'"):
        _as(email, p["Cai"], "READ_EMAIL", {"message_id": ids[0]})  # not Cai's mail


def test_replies_keep_the_thread() -> None:
    _, p = _office()
    email = TinyEmail()
    first = _send(email, p["Ana"], to=["Ben"], cc=["Cai"], subject="Offsite", body="Friday?")
    reply = _as(email, p["Ben"], "REPLY_EMAIL", {"message_id": first.message_id, "body": "Works for me",
                                                  "reply_all": True})
    assert reply.thread_id == first.thread_id == first.message_id and reply.delivered_to == ["Ana", "Cai"]
    again = _as(email, p["Ana"], "REPLY_EMAIL", {"message_id": reply.message_id, "body": "Booked"})
    assert again.delivered_to == ["Ben"] and again.thread_id == first.thread_id
    read = _as(email, p["Ben"], "READ_EMAIL", {"message_id": again.message_id})
    assert read.subject == "Re: Offsite", "a reply to a reply is not 'Re: Re:'"
    assert read.in_reply_to == reply.message_id
    assert read.thread == [first.message_id, reply.message_id, again.message_id]
    assert p["Ana"].memory.items()[-1].content == "New email from Ben: Re: Offsite"


def test_bounds_and_a_missing_agent_are_clear() -> None:
    _, p = _office()
    email = TinyEmail()
    with pytest.raises(ToolArgumentError, match="subject"):
        _send(email, p["Ana"], to=["Ben"], subject="x" * 201, body="y")
    with pytest.raises(ToolArgumentError, match="to"):
        _send(email, p["Ana"], to=[f"n{i}" for i in range(21)], subject="x", body="y")
    with pytest.raises(ToolArgumentError, match="body"):
        _send(email, p["Ana"], to=["Ben"], subject="x", body="y" * 20_001)
    with pytest.raises(ToolArgumentError, match="needs an agent"):
        email.call("LIST_INBOX", {})


def _mail_day(path: Path, *, late_mail: bool = True) -> tuple[control.Simulation, dict[str, TinyPerson], TinyEmail]:
    sim = control.begin(path, backend=ScriptedBackend(_reply), quiet=True)
    world, p = _office()
    email = TinyEmail()
    world.run(1)
    _send(email, p["Ana"], to=["Ben"], subject="Standup", body="9:30")
    inbox_at_1 = _as(email, p["Ben"], "LIST_INBOX", {})
    assert [m.subject for m in inbox_at_1.messages] == ["Standup"], "a replay must not see later mail"
    assert inbox_at_1.unread == 1, "nor read marks set later in the first run"
    if late_mail:
        world.run(1)
        _send(email, p["Cai"], to=["Ben"], subject="Late", body="sorry")
    return sim, p, email


def test_mail_lives_in_the_run_file_and_a_replay_does_not_duplicate_it(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    sim, p, _ = _mail_day(path)
    assert p["Ana"].context.mail_store is sim.mail_store
    control.end()

    reopened = MailStore(path, "default")
    inbox = reopened.inbox("Ben", world="Office", position=(99, 0))
    assert [(m.subject, m.step, m.sender) for m in inbox] == [("Late", 2, "Cai"), ("Standup", 1, "Ana")]
    first_ids = [m.message_id for m in inbox]
    reopened.close()

    sim2, _, _ = _mail_day(path)  # a replay: same sends at the same steps
    assert sim2.mail_store.count() == 2
    control.end()
    again = MailStore(path, "default")
    assert [m.message_id for m in again.inbox("Ben", world="Office", position=(99, 0))] == first_ids
    again.close()


def test_a_replay_sees_the_read_marks_of_its_own_past_only(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    _, p, email = _mail_day(path, late_mail=False)
    _as(email, p["Ben"], "READ_EMAIL", {})
    assert _as(email, p["Ben"], "LIST_INBOX", {}).unread == 0
    control.end()
    # the replay lists Ben's inbox (unread: checked in _mail_day) before he reads it, as the first run did
    _, p2, email2 = _mail_day(path, late_mail=False)
    assert _as(email2, p2["Ben"], "READ_EMAIL", {}).subject == "Standup"
    assert _as(email2, p2["Ben"], "LIST_INBOX", {}).unread == 0
    control.end()


def test_without_a_simulation_each_tool_keeps_its_own_mail() -> None:
    _, p = _office()
    a, b = TinyEmail(), TinyEmail()
    _send(a, p["Ana"], to=["Ben"], subject="only in a", body="x")
    assert _as(a, p["Ben"], "LIST_INBOX", {}).total == 1
    assert _as(b, p["Ben"], "LIST_INBOX", {}).total == 0
    shared = MailStore(":memory:", "shared")
    c, d = TinyEmail(store=shared), TinyEmail(store=shared)
    _send(c, p["Ana"], to=["Ben"], subject="shared", body="x")
    assert _as(d, p["Ben"], "LIST_INBOX", {}).total == 1
