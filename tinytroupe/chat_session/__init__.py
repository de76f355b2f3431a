"""Talking to one persona interactively (``tinytroupe chat``), with or without tools.

Public names: chat_loop, chat_tools, load_chat_persona (:mod:`.loop`), ChatSession, ChatReply (:mod:`.session`),
ChatHistory (:mod:`.history`), OperationTimings (:mod:`.timings`), ToolRunner (:mod:`.calls`).
"""

from tinytroupe.chat_session.calls import ToolRunner
from tinytroupe.chat_session.history import ChatHistory
from tinytroupe.chat_session.loop import chat_loop, chat_tools, load_chat_persona
from tinytroupe.chat_session.session import ChatReply, ChatSession
from tinytroupe.chat_session.timings import OperationTimings

__all__ = ["ChatHistory", "ChatReply", "ChatSession", "OperationTimings", "ToolRunner", "chat_loop", "chat_tools",
           "load_chat_persona"]
