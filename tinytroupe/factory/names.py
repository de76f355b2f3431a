"""People's names in a population: what counts as a usable name, and which are already taken.

Two names are the same name when they differ only in case, accents or spacing (``"José  Díaz"`` and
``"jose diaz"``): two such people would be told apart by nobody reading a transcript, and
``TinyPerson.get_agent_by_name`` would find only one of them.

Example:
    >>> book = NameBook(["Ana Lima"])
    >>> book.is_taken("ana  LIMA"), book.is_taken("Ana Costa")
    (True, False)
    >>> name_problem("Dr. Who?!\\nreally")
    'a name is one line of text'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

#: longest name accepted, in characters
MAX_NAME_CHARS = 80
#: most words a name may have ("Maria da Conceição Ferreira dos Santos" has six)
MAX_NAME_WORDS = 7


def name_key(name: str) -> str:
    """The form names are compared in: accents removed, case folded, spaces collapsed.

    Example:
        >>> name_key("  José   DÍAZ ")
        'jose diaz'
    """
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a person's name, or None when it can.

    Example:
        >>> name_problem("Ana Lima") is None, name_problem("   ")
        (True, 'a name needs at least one letter')
    """
    if "\n" in name or "\r" in name:
        return "a name is one line of text"
    if not any(ch.isalpha() for ch in name):
        return "a name needs at least one letter"
    if len(name.strip()) > MAX_NAME_CHARS:
        return f"a name has at most {MAX_NAME_CHARS} characters"
    if len(name.split()) > MAX_NAME_WORDS:
        return f"a name has at most {MAX_NAME_WORDS} words; give the person's full name only"
    return None


class NameBook:
    """The names already in use (by agents that exist and people generated so far), compared by
    :func:`name_key`, in the order they were added.

    Example:
        >>> book = NameBook()
        >>> book.add("Ana Lima")
        >>> book.recent(5), len(book)
        (['Ana Lima'], 1)
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._keys: set[str] = set()
        self._names: list[str] = []
        for name in names:
            self.add(name)

    def __len__(self) -> int:
        return len(self._names)

    def is_taken(self, name: str) -> bool:
        """Whether a name that is the same as ``name`` (see :func:`name_key`) is in the book."""
        return name_key(name) in self._keys

    def add(self, name: str) -> None:
        """Put ``name`` in the book (a name already there is not added twice)."""
        key = name_key(name)
        if key not in self._keys:
            self._keys.add(key)
            self._names.append(name.strip())

    def recent(self, limit: int) -> list[str]:
        """The last ``limit`` names added (shown to the model as names not to use; all of them would not
        fit a prompt once a population is large, and clashes are caught anyway)."""
        return self._names[-limit:] if limit > 0 else []


__all__ = ["MAX_NAME_CHARS", "MAX_NAME_WORDS", "NameBook", "name_key", "name_problem"]
