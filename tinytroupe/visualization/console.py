"""The live console display; it lives in :mod:`tinytroupe.display` (worlds use it, and they sit below
this layer), and is re-exported here where it was first published.

Example:
    >>> from tinytroupe.display import ConsoleDisplay as Same
    >>> ConsoleDisplay is Same
    True
"""

from __future__ import annotations

from tinytroupe.display import ConsoleDisplay

__all__ = ["ConsoleDisplay"]
