"""Where a value sits in JSON text: the line of a key (or list item) named by its path, for messages
that point into the file (``ana.agent.json:5: persona.age: expected an integer``).

``json.loads`` keeps no positions, and validation (pydantic) only knows paths, so the text is scanned
again on the error path: one pass of a tokenizing regex, linear in the text's length, no recursion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

Path = tuple[int | str, ...]

# A string (unrolled so that long strings match in linear time), a bracket or separator, or a bare
# scalar (number, true, false, null).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


@dataclass
class _Frame:
    path: Path
    is_object: bool
    relevant: bool  # holds a wanted path: its keys are decoded; else they are only stepped over
    key: str | int | None = None  # the current member's key, or the current item's index
    expecting_key: bool = True


def json_key_lines(text: str, paths: Iterable[Path]) -> dict[Path, int]:
    """The line of each of ``paths`` in the JSON ``text``: of its key for an object member, of its
    first character for a list item. A path not in the text gets the line of its deepest part that
    is (a missing field points at the object that lacks it); paths whose first part is absent too
    are left out. ``text`` should be valid JSON; for other text the lines are a best effort.

    Example:
        >>> json_key_lines('{\\n "a": {\\n  "b": [1,\\n   2]}}', [("a", "b", 1), ("a", "c"), ("z",)])
        {('a', 'b', 1): 4, ('a', 'c'): 2}
    """
    wanted = [tuple(p) for p in paths]
    # The root is no key or item: only the paths below it are looked for.
    prefixes = {p[:i] for p in wanted for i in range(1, len(p) + 1)}
    found = _scan(text, prefixes) if prefixes else {}
    out: dict[Path, int] = {}
    for path in wanted:
        for i in range(len(path), 0, -1):
            if path[:i] in found:
                out[path] = found[path[:i]]
                break
    return out


def _scan(text: str, prefixes: set[Path]) -> dict[Path, int]:
    """The line of every path in ``prefixes`` found in ``text``: of its last occurrence, the one
    ``json.loads`` keeps when an object repeats a key."""
    found: dict[Path, int] = {}
    stack: list[_Frame] = []
    line, pos = 1, 0
    for match in _TOKEN.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        token = match.group()
        top = stack[-1] if stack else None
        if token in "}]":
            if stack:
                stack.pop()
        elif token == ":":
            pass
        elif token == ",":
            if top is not None:
                top.expecting_key = top.is_object
                if not top.is_object and isinstance(top.key, int):
                    top.key += 1
        elif top is not None and top.is_object and top.expecting_key:
            top.key = _key(token) if top.relevant else None
            top.expecting_key = False
            if top.key is not None and (*top.path, top.key) in prefixes:
                found[(*top.path, top.key)] = line  # a repeated key: the last one wins, as in json.loads
        else:  # a value starts: a list item gets its line here (an object member got its key's)
            path = _value_path(top)
            if path and top is not None and not top.is_object and path in prefixes:
                found[path] = line
            if token in "{[":
                relevant = path is not None and (not path or path in prefixes)
                stack.append(_Frame(path or (), token == "{", relevant, None if token == "{" else 0))
    return found


def _value_path(top: _Frame | None) -> Path | None:
    """The path of the value starting now, or None inside a part no wanted path reaches."""
    if top is None:
        return ()
    if not top.relevant or top.key is None:
        return None
    return (*top.path, top.key)


def _key(token: str) -> str | None:
    try:
        key = json.loads(token)
    except ValueError:
        return None
    return key if isinstance(key, str) else None


__all__ = ["json_key_lines"]
