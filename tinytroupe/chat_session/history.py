"""A chat's message history, trimmed in whole exchanges as it grows.

An *exchange* is one answer of the model with what belongs to it: a reply, or a request for tool
calls together with the tools' results. Messages are added in groups that are only ever dropped
whole, so a tool call is never separated from its result. When the history passes 1.5 times the
configured number of exchanges it is cut back to 1.2 times (each cut is paid for once per few
dozen exchanges, not on every message), keeping the system messages and the question being answered.

Example:
    >>> from tinytroupe.llm.types import Message
    >>> history = ChatHistory(max_exchanges=2, system=[Message(role="system", content="Be brief.")])
    >>> for i in range(4):
    ...     _ = history.add([Message(role="user", content=f"q{i}")])
    ...     _ = history.add([Message(role="assistant", content=f"a{i}")], exchange=True)
    >>> [m.content for m in history.messages]
    ['Be brief.', 'q2', 'a2', 'q3', 'a3']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tinytroupe.errors import InvalidArgument
from tinytroupe.llm.types import Message

#: the history is trimmed when it holds more than this many times the configured exchanges ...
TRIM_AT = 1.5
#: ... back to this many times
TRIM_TO = 1.2


@dataclass(frozen=True)
class _Group:
    messages: tuple[Message, ...]
    exchange: bool  # holds a model answer (counts towards the limit)


class ChatHistory:
    """System messages, then groups of messages in order; see the module docstring.

    Args:
        max_exchanges: the configured number of exchanges (``[Chat] MAX_EXCHANGES``).
        system: messages kept at the start whatever is trimmed.
    """

    def __init__(self, max_exchanges: int, system: Sequence[Message] = ()) -> None:
        if max_exchanges < 1:
            raise InvalidArgument(f"max_exchanges must be at least 1, got {max_exchanges}")
        self.max_exchanges = max_exchanges
        self.system: list[Message] = list(system)
        self._groups: list[_Group] = []
        self._exchanges = 0
        #: messages dropped by trimming so far, and how many trims dropped them
        self.trimmed_messages = 0
        self.trims = 0

    @property
    def trim_threshold(self) -> int:
        """The number of exchanges past which the history is trimmed."""
        return math.floor(TRIM_AT * self.max_exchanges)

    @property
    def trim_target(self) -> int:
        """The number of exchanges a trim leaves (at least one)."""
        return max(1, math.floor(TRIM_TO * self.max_exchanges))

    @property
    def exchanges(self) -> int:
        return self._exchanges

    @property
    def messages(self) -> list[Message]:
        """Everything to send: system messages first, then the groups in order."""
        return [*self.system, *(m for g in self._groups for m in g.messages)]

    def __len__(self) -> int:
        return len(self.system) + sum(len(g.messages) for g in self._groups)

    def add(self, messages: Sequence[Message], *, exchange: bool = False) -> int:
        """Add ``messages`` as one group (``exchange``: it holds a model answer); trims when the history
        has passed :attr:`trim_threshold`. Returns the number of messages trimmed (usually 0)."""
        if not messages:
            raise InvalidArgument("a group of chat messages needs at least one message")
        self._groups.append(_Group(tuple(messages), exchange))
        self._exchanges += exchange
        return self.trim() if self._exchanges > self.trim_threshold else 0

    def trim(self) -> int:
        """Drop the oldest groups until :attr:`trim_target` exchanges are left, keeping the newest
        user message (the question being answered, in a long chain of tool calls). Returns the
        number of messages dropped."""
        excess = self._exchanges - self.trim_target
        if excess <= 0:
            return 0
        protected = next((i for i in range(len(self._groups) - 1, -1, -1)
                          if any(m.role == "user" for m in self._groups[i].messages) and not self._groups[i].exchange),
                         None)
        kept: list[_Group] = []
        dropped = 0
        for i, group in enumerate(self._groups):
            if excess > 0 and i != protected:
                excess -= group.exchange
                self._exchanges -= group.exchange
                dropped += len(group.messages)
            else:
                kept.append(group)
        self._groups = kept
        self.trimmed_messages += dropped
        self.trims += 1
        return dropped


__all__ = ["TRIM_AT", "TRIM_TO", "ChatHistory"]
