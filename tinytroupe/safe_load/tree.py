"""Checking parsed data against its limits (depth, items, text length, integer size, values in total,
finite numbers, JSON's types only), naming the path of the first offending value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from tinytroupe.safe_load.limits import InputProblem, Limits


def json_path(parts: tuple[int | str, ...] | list[int | str], prefix: str = "") -> str:
    """``("agents", 2, "name")`` → ``agents[2].name``; keys that are not plain words are quoted."""
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)[:60]}]"
    return out or "(top level)"


def _walk(data: Any) -> Iterator[tuple[tuple[int | str, ...], Any, int]]:
    """Every value under ``data`` with its path and depth (the root has depth 0), without recursion."""
    stack: list[tuple[tuple[int | str, ...], Any, int]] = [((), data, 0)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if isinstance(value, dict):
            stack.extend(((*path, k if isinstance(k, int | str) else str(k)), v, depth + 1)
                         for k, v in reversed(value.items()))
        elif isinstance(value, list | tuple):
            stack.extend(((*path, i), v, depth + 1) for i, v in reversed(list(enumerate(value))))


def non_finite_message(value: float) -> str:
    """Why ``value`` (an infinity or NaN) is refused, and what to write instead."""
    word = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return (f"{word} is not allowed: write a finite number (JSON, which saves and checkpoints use, has no "
            "Infinity or NaN, and NaN passes every bound unnoticed)")


def check_tree(data: Any, limits: Limits, *, prefix: str = "", json_only: bool = True, dates: bool = True) -> None:
    """Check parsed data against ``limits``: depth, items per list or mapping, text length, integer
    size, total values, and finite numbers. With ``json_only``, values other than JSON's are refused
    too, and dates unless ``dates`` (TOML has them; JSON and so personas do not).

    Raises:
        InputProblem: naming the path of the first offending value (``where``, after ``prefix``).

    Example:
        >>> from tinytroupe.safe_load import CONFIG_LIMITS
        >>> check_tree({"ok": [1.5, "two"]}, CONFIG_LIMITS)
        >>> try:
        ...     check_tree({"weights": [1.0, float("inf")]}, CONFIG_LIMITS, prefix="memory")
        ... except InputProblem as problem:
        ...     problem.where
        'memory.weights[1]'
    """
    int_bound = 10 ** limits.max_int_digits
    for count, (path, value, depth) in enumerate(_walk(data), 1):
        problem: str | None = None
        if depth >= limits.max_depth:  # the root is level 1
            problem = f"nested more than {limits.max_depth} levels deep; no real file needs that many"
        elif count > limits.max_nodes:
            problem = f"holds more than {limits.max_nodes:,} values, the limit for this kind of file"
        elif isinstance(value, str):
            if len(value) > limits.max_string:
                problem = f"a text of {len(value):,} characters; the limit is {limits.max_string:,}"
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            if abs(value) >= int_bound:
                problem = f"an integer with more than {limits.max_int_digits} digits"
        elif isinstance(value, float):
            if not math.isfinite(value):
                problem = non_finite_message(value)
        elif isinstance(value, dict | list | tuple):
            if len(value) > limits.max_items:
                kind = "mapping" if isinstance(value, dict) else "list"
                problem = f"{len(value):,} items in one {kind}; the limit is {limits.max_items:,}"
            elif isinstance(value, dict):
                long_key = next((k for k in value if isinstance(k, str) and len(k) > limits.max_string), None)
                if long_key is not None:
                    problem = f"a key of {len(long_key):,} characters; the limit is {limits.max_string:,}"
        elif json_only and isinstance(value, datetime | date):
            if not dates:
                problem = (f"a date ({value.isoformat()}), which JSON cannot hold; put it in quotes to keep it "
                           "as text")
        elif json_only:
            problem = f"a value of type {type(value).__name__}, which JSON cannot hold"
        if problem is not None:
            raise InputProblem(problem, where=json_path(path, prefix), parts=path)


__all__ = ["check_tree", "json_path", "non_finite_message"]
