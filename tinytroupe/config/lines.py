"""Where a section or key sits in a configuration file, for messages (``config.ini:3: [OpenAI] TIMEOUT``).

Neither configparser nor tomllib keeps positions, so the file's text is scanned again: one pass,
line by line, recognising section headers and keys the way each parser does. Lines are a help for
the reader; where the scan cannot tell (a key written in a way it does not follow), there is none.
"""

from __future__ import annotations

import re

#: configparser's SECTCRE: the header is everything between the first '[' and the last ']'
_INI_HEADER = re.compile(r"\[(?P<header>.+)\]")
#: configparser's inline comments: ';' or '#' after whitespace (the loader passes both prefixes)
_INI_INLINE_COMMENT = re.compile(r"\s[#;]")

_TOML_BARE = r"[A-Za-z0-9_-]+"
_TOML_PART = rf"(?:{_TOML_BARE}|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_TOML_DOTTED = rf"{_TOML_PART}(?:\s*\.\s*{_TOML_PART})*"
#: ``[table]`` or ``[[array of tables]]``
_TOML_HEADER = re.compile(rf"\s*\[(?P<array>\[)?\s*(?P<name>{_TOML_DOTTED})\s*\](?(array)\])")
_TOML_KEY = re.compile(rf"\s*(?P<name>{_TOML_DOTTED})\s*=")


class FileLines:
    """The line of each section header and key of one configuration file, looked up the way the
    loader matches names: exactly first, then ignoring case."""

    def __init__(self) -> None:
        self._lines: dict[tuple[str, str | None], int] = {}
        self._folded: dict[tuple[str, str | None], int] = {}

    def add(self, section: str, key: str | None, line: int) -> None:
        # The first occurrence wins: the parsers refuse a repeated section or key in one file.
        self._lines.setdefault((section, key), line)
        self._folded.setdefault((section.lower(), key.lower() if key is not None else None), line)

    def of(self, section: str, key: str | None = None) -> int | None:
        """The line of ``key`` in ``section`` (of the section's header when ``key`` is None)."""
        found = self._lines.get((section, key))
        if found is None:
            found = self._folded.get((section.lower(), key.lower() if key is not None else None))
        return found


def ini_lines(text: str) -> FileLines:
    """Sections and keys of INI ``text`` as configparser (no interpolation, '#'/';' comments) reads them."""
    lines = FileLines()
    section: str | None = None
    option_indent: int | None = None  # of the key whose value may go on over indented lines
    # configparser reads the text as io.StringIO does: lines end at '\n' only.
    for number, raw in enumerate(text.split("\n"), 1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        indent = len(raw) - len(raw.lstrip())
        if option_indent is not None and indent > option_indent:
            continue  # a continuation line of the value above
        comment = _INI_INLINE_COMMENT.search(stripped)
        content = stripped[: comment.start()].rstrip() if comment else stripped
        header = _INI_HEADER.match(content)
        if header:
            section, option_indent = header.group("header"), None
            lines.add(section, None, number)
        elif section is not None:
            name = re.split(r"[=:]", content, maxsplit=1)[0].rstrip()
            lines.add(section, name, number)
            option_indent = indent
    return lines


def toml_lines(text: str) -> FileLines:
    """Tables and keys of TOML ``text``: ``[table]`` or ``[[array]]`` then ``key = ...``, and
    ``table.key = ...``."""
    lines = FileLines()
    table: tuple[str, ...] = ()
    in_multiline: str | None = None  # the quotes of a multi-line string that runs over this line
    # TOML lines end at '\n' only: str.splitlines would also split at U+2028 and others in strings.
    for number, raw in enumerate(text.split("\n"), 1):
        if in_multiline is not None:
            in_multiline = _toml_open_string(raw, 0, in_multiline)
            continue
        header = _TOML_HEADER.match(raw)
        key = None if header else _TOML_KEY.match(raw)
        if header:
            table = _toml_names(header.group("name"))
            if len(table) == 1:
                lines.add(table[0], None, number)
            continue
        if key:
            path = (*table, *_toml_names(key.group("name")))
            if len(path) >= 2:
                lines.add(path[0], path[1], number)
            elif path:  # a whole table as one inline value: its keys are on this line
                lines.add(path[0], None, number)
        in_multiline = _toml_open_string(raw, key.end() if key else 0, None)
    return lines


def _toml_open_string(line: str, start: int, open_quotes: str | None) -> str | None:
    """The quotes of the multi-line string still open at the end of ``line``, read from ``start``
    (inside ``open_quotes``' string when given), or None."""
    i = start
    while i < len(line):
        if open_quotes is not None:
            if open_quotes == '"""' and line[i] == "\\":
                i += 2
                continue
            if line.startswith(open_quotes, i):
                i += 3
                while line.startswith(open_quotes[0], i):  # up to two quotes may end the content
                    i += 1
                open_quotes = None
                continue
            i += 1
            continue
        c = line[i]
        if c == "#":
            return None
        if line.startswith(('"""', "'''"), i):
            open_quotes, i = line[i:i + 3], i + 3
        elif c in "\"'":
            i = _toml_string_end(line, i)
        else:
            i += 1
    return open_quotes


def _toml_string_end(line: str, i: int) -> int:
    """Where the one-line string starting at ``line[i]`` ends (just past its closing quote)."""
    quote, i = line[i], i + 1
    while i < len(line) and line[i] != quote:
        i += 2 if quote == '"' and line[i] == "\\" else 1
    return i + 1


def _toml_names(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_TOML_PART, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


__all__ = ["FileLines", "ini_lines", "toml_lines"]
