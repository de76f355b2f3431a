"""Reading and locating text: a file read within its size bound and decoded as strict UTF-8, and the
line (and column) of a position, for messages.
"""

from __future__ import annotations

import re
from pathlib import Path

from tinytroupe.safe_load.limits import InputProblem, Limits


def read_text(path: str | Path, limits: Limits) -> str:
    """The file's text, decoded as UTF-8 (a leading byte-order mark is dropped).

    Raises:
        FileNotFoundError: the file does not exist (callers word that themselves).
        InputProblem: unreadable, over ``limits.max_bytes``, or not UTF-8 (with line and column).
    """
    p = Path(path)
    try:
        with p.open("rb") as handle:
            # Read one byte past the limit rather than trusting stat(): pipes and /proc files lie.
            raw = handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputProblem(f"cannot read the file: {exc}") from None
    if len(raw) > limits.max_bytes:
        raise InputProblem(f"the file is larger than {_size(limits.max_bytes)}, the limit for this kind of file; "
                           "check that it is the file you meant")
    return decode_utf8(raw)


def decode_utf8(raw: bytes) -> str:
    """``raw`` as text; bytes that are not UTF-8 raise :class:`InputProblem` with line and column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_col_bytes(raw, exc.start)
        raise InputProblem(f"byte 0x{raw[exc.start]:02x} at line {line}, column {column} is not UTF-8 text; "
                           "save the file as UTF-8", line=line, column=column) from None
    return text.removeprefix("\ufeff")


def _line_col_bytes(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def _check_length(text: str, limits: Limits) -> None:
    # Text handed over directly (not read by read_text) gets the same bound, counted in characters.
    if len(text) > limits.max_bytes:
        raise InputProblem(f"the text is longer than {limits.max_bytes:,} characters, the limit for this kind "
                           "of file")


def _deep_line(text: str, max_depth: int) -> int | None:
    """The line where brackets first nest deeper than ``max_depth`` (quoted text skipped), if any."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|[\[{]|[\]}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return _line_col(text, match.start())[0]
        elif token in "]}":
            depth = max(depth - 1, 0)
    return None


__all__ = ["decode_utf8", "read_text"]
