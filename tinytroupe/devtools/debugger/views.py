"""Rich views of what the debugger gives back (a pause, an agent, a turn's prompt and answer, memories,
breakpoints, events), for the terminal and for notebooks (:func:`html` renders any of them).

Everything shown comes from agents and models, so it goes through :func:`~tinytroupe.terminal.show`
(control characters made visible, markup escaped) or into rich ``Text``, never into markup as it is.

Example:
    >>> from rich.console import Console
    >>> from tinytroupe.devtools.debugger.pausing import Pause
    >>> console = Console(width=60, color_system=None)
    >>> with console.capture() as out:
    ...     console.print(pause_view(Pause(reason="step", where="world 'Cafe': step 1 ended")))
    >>> out.get().strip()
    "paused (step): world 'Cafe': step 1 ended"
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tinytroupe.devtools.debugger.breakpoints import Breakpoint, describe_event
from tinytroupe.devtools.debugger.calls import TurnRecord
from tinytroupe.devtools.debugger.inspection import AgentView
from tinytroupe.devtools.debugger.pausing import Pause
from tinytroupe.events import Event
from tinytroupe.terminal import printable, show

#: characters of one message shown before it is cut (the whole text is in the TurnRecord)
MESSAGE_CHARS = 6000


def pause_view(pause: Pause) -> RenderableType:
    """A pause in one line, then one line per breakpoint met (and the error of a failed run)."""
    verb = "paused" if not pause.over else "run over"
    lines = [Text.from_markup(f"[bold]{verb}[/] ({pause.reason}): {show(pause.where)}")]
    for hit in pause.hits:
        lines.append(Text.from_markup(f"  [yellow]breakpoint #{hit.breakpoint.id}[/] "
                                      f"({show(hit.breakpoint.describe())}): {show(hit.summary)}"))
    if pause.error:
        lines.append(Text.from_markup(f"  [red]error:[/] {show(pause.error)}"))
    return Group(*lines)


def _pairs(title: str, data: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", expand=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        table.add_row(printable(str(key)), printable(text[:2000]))
    return table


def agent_view(view: AgentView) -> RenderableType:
    """An agent's persona, cognitive state, other state (emotions, components ...), memory sizes and
    most recent memories."""
    head = Text.from_markup(f"[bold]{show(view.name)}[/] · world {show(str(view.world))} · {view.turns} turns · "
                            f"{view.episodic_items} memories, {view.semantic_facts} facts · can talk to: "
                            f"{show(', '.join(view.accessible) or 'nobody')}")
    parts: list[RenderableType] = [head, _pairs("persona", view.persona),
                                   _pairs("cognitive_state", view.cognitive_state)]
    if view.other:
        parts.append(_pairs("other state", view.other))
    parts.append(memories_view(view.recent, title="most recent memories"))
    return Group(*parts)


def memories_view(items: Iterable[dict[str, Any]], title: str = "memories") -> Table:
    """Episodic memory items: their index in ``memory.items`` is what an edit path names."""
    table = Table(title=title, title_justify="left")
    for column in ("id", "step", "kind", "type", "from/to", "content"):
        table.add_column(column, overflow="fold")
    for item in items:
        other = item.get("source") or item.get("target") or ""
        table.add_row(str(item.get("id", "")), str(item.get("step", "")), str(item.get("kind", "")),
                      printable(str(item.get("type", ""))), printable(str(other)),
                      printable(str(item.get("content", ""))[:500]))
    return table


def turn_view(record: TurnRecord) -> RenderableType:
    """A turn's exact messages and the answer of each attempt (a re-ask repeats the prompt and adds the
    invalid answer and the request to fix it)."""
    parts: list[RenderableType] = [Text.from_markup(
        f"[bold]{show(record.agent)}[/], turn {record.turn}, step {record.step}, world {show(str(record.world))}: "
        f"{len(record.attempts)} call(s)")]
    for n, call in enumerate(record.attempts, 1):
        shown = call.messages if n == 1 else call.messages[len(record.prompt):]
        for message in shown:
            parts.append(Panel(Text(printable(str(message.get("content", ""))[:MESSAGE_CHARS])),
                               title=f"{message.get('role')} (call {n})", title_align="left"))
        answer = call.answer if call.error is None else f"failed: {call.error}"
        parts.append(Panel(Text(printable(answer or "")[:MESSAGE_CHARS]), title=f"answer (call {n})",
                           title_align="left", border_style="green" if call.error is None else "red"))
    return Group(*parts)


def messages_view(messages: list[dict[str, Any]], title: str = "next prompt") -> RenderableType:
    """Chat messages, one panel each."""
    return Group(Text(title, style="bold"), *(
        Panel(Text(printable(str(m.get("content", "")))[:MESSAGE_CHARS]), title=str(m.get("role")),
              title_align="left") for m in messages))


def breakpoints_view(breakpoints: list[Breakpoint]) -> RenderableType:
    if not breakpoints:
        return Text("no breakpoints")
    return Group(*(Text(f"#{b.id}  {printable(b.describe())}") for b in breakpoints))


def events_view(events: list[Event]) -> RenderableType:
    if not events:
        return Text("no events yet")
    return Group(*(Text(printable(f"{e.kind:<12} {describe_event(e)}")) for e in events))


def html(renderable: RenderableType, width: int = 100) -> str:
    """``renderable`` as HTML with inline styles (what a notebook cell shows)."""
    console = Console(record=True, file=io.StringIO(), width=width)
    console.print(renderable)
    return console.export_html(inline_styles=True)


__all__ = ["agent_view", "breakpoints_view", "events_view", "html", "memories_view", "messages_view", "pause_view",
           "turn_view"]
