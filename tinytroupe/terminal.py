"""Text that is safe to show in a terminal.

Persona names, broadcasts and model output are untrusted: a control sequence in them could clear
the user's screen, retitle the window or hide text. Everything shown live goes through
:func:`printable` (control characters made visible) and :func:`show` (that, plus rich markup
escaped).

Example:
    >>> printable("Ana\\x1b[2J says hi\\x07")
    'Ana\\\\x1b[2J says hi\\\\x07'
    >>> show("[bold]Ana[/]")
    '\\\\[bold]Ana\\\\[/]'
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape

# C0 controls except tab and newline, DEL, and the C1 controls (which some terminals obey too).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every terminal control character written out as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def show(text: str) -> str:
    """``text`` made printable and escaped for rich markup, ready to put inside a markup string."""
    return escape(printable(text))


def print_plain(text: str, console: Console | None = None) -> None:
    """Print ``text`` as it is (made printable; no markup, no highlighting) to ``console`` or a new one.

    Example:
        >>> print_plain("Ana [says] hi")
        Ana [says] hi
    """
    (console or Console()).print(printable(text), markup=False, highlight=False)


__all__ = ["print_plain", "printable", "show"]
