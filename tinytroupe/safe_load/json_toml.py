"""Bounded JSON and TOML: the standard library's parsers, with duplicate keys, long integers and deep
nesting reported by line, then the whole tree checked against the limits.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from tinytroupe.safe_load.limits import InputProblem, Limits
from tinytroupe.safe_load.text import _check_length, _deep_line, _line_col
from tinytroupe.safe_load.tree import check_tree


class _DuplicateKey(ValueError):
    offset: int | None = None  # where the object holding the repeated key starts


class _LongInt(ValueError):
    pass


def load_json(text: str, limits: Limits) -> Any:
    """Parse JSON text within ``limits``.

    Raises:
        InputProblem: a syntax error (line and column), a duplicate key, nesting or sizes past the
            limits, or a non-finite number (with its path in ``where``).
    """
    _check_length(text, limits)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise _DuplicateKey(key)
            out[key] = value
        return out

    def integer(digits: str) -> int:
        if len(digits.lstrip("-")) > limits.max_int_digits:
            raise _LongInt(digits)
        return int(digits)

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_int=integer)
    except json.JSONDecodeError as exc:
        raise InputProblem(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                           line=exc.lineno, column=exc.colno) from None
    except _DuplicateKey as exc:
        key = str(exc.args[0])
        line = _duplicate_line(text, pairs, integer)
        where = f" in the object that starts at line {line}" if line else ""
        raise InputProblem(f"the key {json.dumps(key[:80], ensure_ascii=False)} appears twice{where}; "
                           "JSON keeps only the last, so keep the one you mean", line=line) from None
    except _LongInt as exc:
        line, column = _line_col(text, max(text.find(exc.args[0]), 0))
        raise InputProblem(f"an integer with {len(exc.args[0]):,} digits at line {line}; the limit is "
                           f"{limits.max_int_digits}", line=line, column=column) from None
    except RecursionError:
        deep = _deep_line(text, limits.max_depth)
        raise InputProblem(f"nested more than {limits.max_depth} levels deep"
                           + (f" (from line {deep})" if deep else "") + "; no real file needs that many",
                           line=deep) from None
    check_tree(data, limits)
    return data


def _duplicate_line(text: str, pairs: Any, integer: Any) -> int | None:
    """The line where the object with a repeated key starts (found again, slowly, on the error path)."""
    if len(text) > 2 * 1024 * 1024:  # the pure-Python scanner needs seconds past this
        return None
    decoder = json.JSONDecoder(object_pairs_hook=pairs, parse_int=integer)

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> Any:
        try:
            return json.decoder.JSONObject(s_and_end, *args)  # type: ignore[attr-defined]
        except _DuplicateKey as exc:
            if exc.offset is None:  # the innermost object is the one that holds the repeat
                exc.offset = s_and_end[1] - 1
            raise

    # The C scanner does not call parse_object; the Python one does, with the object's position.
    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except _DuplicateKey as exc:
        return _line_col(text, exc.offset)[0] if exc.offset is not None else None
    except (ValueError, RecursionError):
        return None
    return None


def load_toml(text: str, limits: Limits) -> dict[str, Any]:
    """Parse TOML text within ``limits``.

    Raises:
        InputProblem: a syntax error (its message has line and column), nesting or sizes past the
            limits, or a non-finite number (``nan``, ``inf``; its key path in ``where``).
    """
    _check_length(text, limits)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        raise InputProblem(f"not valid TOML: {exc}", line=line, column=column) from None
    except RecursionError:
        line = _deep_line(text, limits.max_depth)
        raise InputProblem(f"nested more than {limits.max_depth} levels deep"
                           + (f" (from line {line})" if line else ""), line=line) from None
    except ValueError:  # tomllib lets int()'s digit limit through
        long_number = re.search(rf"\d{{{limits.max_int_digits + 1},}}", text)
        line = _line_col(text, long_number.start())[0] if long_number else None
        raise InputProblem(f"an integer with more than {limits.max_int_digits} digits"
                           + (f" at line {line}" if line else ""), line=line) from None
    check_tree(data, limits)
    return data


__all__ = ["load_json", "load_toml"]
