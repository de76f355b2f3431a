"""``TinyEmail``: simulated email between the agents of one world, kept in the run file.

Agents send, list, read and reply to messages; a message's arrival is a stimulus the recipient
perceives (``New email from Ana: Lunch?``). Nothing leaves the machine: there is no SMTP, no
network, only rows in the simulation's run file (:class:`~tinytroupe.storage.mailboxes.MailStore`,
reached through the caller's run context, ``RunContext.mail_store``). Without a simulation the
tool keeps its mail in an in-memory SQLite database of its own. A replayed or resumed run writes
the same message ids and sees the mailboxes as they were at each point (see the storage module).

Example:
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorld
    >>> ana, ben = TinyPerson("Ana"), TinyPerson("Ben")
    >>> world = TinyWorld("Office", [ana, ben])
    >>> email = TinyEmail()
    >>> sent = email.call("SEND_EMAIL", {"to": ["Ben"], "subject": "Lunch?", "body": "Noon?"},
    ...                   ToolCall("email", "SEND_EMAIL", agent=ana))
    >>> sent.delivered_to
    ['Ben']
    >>> ben.memory.items()[-1].content
    'New email from Ana: Lunch?'
    >>> email.call("LIST_INBOX", {}, ToolCall("email", "LIST_INBOX", agent=ben)).messages[0].subject
    'Lunch?'
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, field_validator

from tinytroupe.errors import ToolArgumentError
from tinytroupe.storage.mailboxes import MailDraft, MailStore, StoredMail
from tinytroupe.tools.base import TinyTool, ToolCall, tool_action

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson

#: bounds on what one message may hold
MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 20_000
MAX_RECIPIENTS = 20
#: most messages one LIST_INBOX returns
MAX_LIST = 50
#: characters of a body shown in an inbox listing
PREVIEW_CHARS = 120


def _names(value: object) -> object:
    return [value] if isinstance(value, str) else value


class SendArgs(BaseModel):
    """Arguments of SEND_EMAIL."""

    to: list[str] = Field(min_length=1, max_length=MAX_RECIPIENTS, description="recipients' names")
    cc: list[str] = Field(default_factory=list, max_length=MAX_RECIPIENTS, description="copied recipients' names")
    subject: str = Field(min_length=1, max_length=MAX_SUBJECT_CHARS)
    body: str = Field(max_length=MAX_BODY_CHARS)

    _split = field_validator("to", "cc", mode="before")(_names)


class ReplyArgs(BaseModel):
    """Arguments of REPLY_EMAIL."""

    message_id: str = Field(description="the id of the message answered")
    body: str = Field(max_length=MAX_BODY_CHARS)
    reply_all: bool = Field(False, description="also answer everyone else the message went to")


class ListArgs(BaseModel):
    """Arguments of LIST_INBOX."""

    limit: int = Field(10, ge=1, le=MAX_LIST, description="most messages listed")
    unread_only: bool = False
    folder: Literal["inbox", "sent"] = "inbox"


class ReadArgs(BaseModel):
    """Arguments of READ_EMAIL (no id: the oldest unread message)."""

    message_id: str | None = None


class MarkArgs(BaseModel):
    """Arguments of MARK_READ."""

    message_ids: list[str] = Field(min_length=1, max_length=MAX_LIST)
    read: bool = True

    _split = field_validator("message_ids", mode="before")(_names)


class Refused(BaseModel):
    """An address the message was not delivered to, and why."""

    address: str
    reason: str


class SendResult(BaseModel):
    """What SEND_EMAIL and REPLY_EMAIL did."""

    message_id: str
    thread_id: str
    delivered_to: list[str]
    refused: list[Refused] = Field(default_factory=list)


class MailSummary(BaseModel):
    """One line of an inbox listing."""

    message_id: str
    thread_id: str
    sender: str
    to: list[str]
    subject: str
    preview: str
    read: bool
    step: int


class Inbox(BaseModel):
    """What LIST_INBOX returns: the listed messages, and how many there are in all."""

    messages: list[MailSummary]
    unread: int
    total: int
    truncated: bool


class MailMessage(BaseModel):
    """A whole message (READ_EMAIL), with the ids of its thread, oldest first."""

    message_id: str
    thread_id: str
    sender: str
    to: list[str]
    cc: list[str]
    subject: str
    body: str
    in_reply_to: str | None
    thread: list[str]


class MarkResult(BaseModel):
    """How many of the messages MARK_READ changed."""

    updated: int


class TinyEmail(TinyTool):
    """Email between the agents of one world (no network: messages are rows in the run file).

    Args:
        name: the tool's name among an agent's tools.
        owner: the only agent allowed to use it (None: every agent it is given to).
        store: a mail store to use instead of the run context's (tests, a shared in-memory store).

    The store is, in order: ``store``; the caller's run context's ``mail_store`` (a simulation's run
    file); an in-memory store this tool creates on first use.
    """

    capabilities = ("email",)

    def __init__(self, name: str = "email", owner: TinyPerson | str | None = None,
                 store: MailStore | None = None) -> None:
        super().__init__(name, "send, read and answer email to the other people here (simulated: nothing "
                               "leaves this world)", owner=owner)
        self._store = store
        self._own: MailStore | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ operations

    @tool_action("SEND_EMAIL", "send an email: to (names), optional cc, subject and body")
    def send_email(self, call: ToolCall, args: SendArgs) -> SendResult:
        sender = self._sender(call)
        draft = MailDraft(sender=sender.name, to=args.to, cc=args.cc, subject=args.subject, body=args.body,
                          sent_at=sender._now())
        return self._deliver(call, sender, draft)

    @tool_action("REPLY_EMAIL", "answer an email by its message_id, with a body (reply_all to answer everyone)")
    def reply_email(self, call: ToolCall, args: ReplyArgs) -> SendResult:
        sender = self._sender(call)
        store, world, pos = self._where(call)
        original = store.get(sender.name, args.message_id, world=world, position=pos)
        if original is None:
            raise ToolArgumentError(f"no message {args.message_id!r} in your mailbox", tool=self.name,
                                    action=call.action, agent=sender.name)
        to = [original.sender] if original.sender != sender.name else list(original.to)
        cc = [n for n in [*original.to, *original.cc] if n != sender.name and n not in to] if args.reply_all else []
        subject = original.subject if original.subject.lower().startswith("re:") else f"Re: {original.subject}"
        draft = MailDraft(sender=sender.name, to=to, cc=cc, subject=subject[:MAX_SUBJECT_CHARS], body=args.body,
                          in_reply_to=original.message_id, thread_id=original.thread_id, sent_at=sender._now())
        return self._deliver(call, sender, draft)

    @tool_action("LIST_INBOX", "list your emails, unread first (limit, unread_only, folder inbox or sent)")
    def list_inbox(self, call: ToolCall, args: ListArgs) -> Inbox:
        owner = self._sender(call)
        store, world, pos = self._where(call)
        mails = store.inbox(owner.name, world=world, position=pos, folder=args.folder)
        unread = sum(1 for m in mails if not m.read)
        chosen = [m for m in mails if not (args.unread_only and m.read)]
        return Inbox(messages=[_summary(m) for m in chosen[:args.limit]], unread=unread, total=len(mails),
                     truncated=len(chosen) > args.limit)

    @tool_action("READ_EMAIL", "read an email by its message_id (none: the oldest unread one); marks it read")
    def read_email(self, call: ToolCall, args: ReadArgs) -> MailMessage:
        owner = self._sender(call)
        store, world, pos = self._where(call)
        if args.message_id is None:
            unread = [m for m in store.inbox(owner.name, world=world, position=pos) if not m.read]
            if not unread:
                raise ToolArgumentError("you have no unread email", tool=self.name, action=call.action,
                                        agent=owner.name)
            mail = min(unread, key=lambda m: (m.step, m.seq))
        else:
            found = store.get(owner.name, args.message_id, world=world, position=pos)
            if found is None:
                raise ToolArgumentError(f"no message {args.message_id!r} in your mailbox", tool=self.name,
                                        action=call.action, agent=owner.name)
            mail = found
        store.mark_read(owner.name, [mail.message_id], read=True, position=pos)
        thread = store.thread(mail.thread_id, world=world, position=pos)
        return MailMessage(message_id=mail.message_id, thread_id=mail.thread_id, sender=mail.sender, to=mail.to,
                           cc=mail.cc, subject=mail.subject, body=mail.body, in_reply_to=mail.in_reply_to,
                           thread=[m.message_id for m in thread])

    @tool_action("MARK_READ", "mark emails (message_ids) read, or unread with read=false")
    def mark_read(self, call: ToolCall, args: MarkArgs) -> MarkResult:
        owner = self._sender(call)
        store, _, pos = self._where(call)
        return MarkResult(updated=store.mark_read(owner.name, args.message_ids, read=args.read, position=pos))

    # ------------------------------------------------------------------ internals

    def store_for(self, call: ToolCall) -> MailStore:
        """The mail store a call uses (see the class docstring)."""
        if self._store is not None:
            return self._store
        found = call.agent.context.mail_store if call.agent is not None else None
        if found is not None:
            return found
        with self._lock:
            if self._own is None:
                self._own = MailStore(":memory:", "local")
            return self._own

    def _sender(self, call: ToolCall) -> TinyPerson:
        if call.agent is None:
            raise ToolArgumentError("email needs an agent: it is sent and read by someone", tool=self.name,
                                    action=call.action)
        return call.agent

    def _where(self, call: ToolCall) -> tuple[MailStore, str, tuple[int, int]]:
        agent = self._sender(call)
        store = self.store_for(call)
        world = call.world or agent._world_name() or ""
        step = call.step if call.step is not None else agent._step()
        return store, world, store.next_position(world, step or 0)

    def _deliver(self, call: ToolCall, sender: TinyPerson, draft: MailDraft) -> SendResult:
        refused: list[Refused] = []
        found: dict[str, TinyPerson] = {}
        for name in dict.fromkeys([*draft.to, *draft.cc]):
            other = call.find_agent(name)
            if name == sender.name:
                refused.append(Refused(address=name, reason="that is you"))
            elif other is None:
                where = "this world" if sender.environment is not None else "any world (the sender is in none)"
                refused.append(Refused(address=name, reason=f"nobody called {name!r} in {where}"))
            else:
                found[name] = other
        if not found:
            reasons = "; ".join(r.reason for r in refused)
            raise ToolArgumentError(f"not sent: no recipient could get it ({reasons})", tool=self.name,
                                    action=call.action, agent=sender.name)
        draft = draft.model_copy(update={"to": [n for n in draft.to if n in found],
                                         "cc": [n for n in draft.cc if n in found and n not in draft.to]})
        store, world, pos = self._where(call)
        mail = store.send(draft, world=world, position=pos)
        for other in found.values():
            other.see(f"New email from {sender.name}: {mail.subject}", source=sender.name)
        return SendResult(message_id=mail.message_id, thread_id=mail.thread_id, delivered_to=list(found),
                          refused=refused)


def _summary(mail: StoredMail) -> MailSummary:
    preview = mail.body if len(mail.body) <= PREVIEW_CHARS else mail.body[:PREVIEW_CHARS - 3] + "..."
    return MailSummary(message_id=mail.message_id, thread_id=mail.thread_id, sender=mail.sender, to=mail.to,
                       subject=mail.subject, preview=preview, read=mail.read, step=mail.step)


__all__ = ["Inbox", "ListArgs", "MailMessage", "MailSummary", "MarkArgs", "MarkResult", "ReadArgs", "Refused",
           "ReplyArgs", "SendArgs", "SendResult", "TinyEmail"]
