"""Keeping secrets out of messages, logs, events and result files.

Provider errors sometimes echo the credentials they were sent (``Incorrect API key provided:
sk-...``), and those texts travel on: into exception chains, log lines, failed-turn records, the
trace and ``results.json``. :func:`redact` masks them wherever text leaves our hands: the values of
the secret environment variables we read, any extra secrets a caller knows, and the common shapes of
keys and bearer tokens.

Example:
    >>> redact("Incorrect API key provided: sk-abc123def456")
    'Incorrect API key provided: sk-***'
    >>> redact("Authorization: Bearer eyJhbGciOi.x.y")
    'Authorization: Bearer ***'
    >>> redact("token hunter2hunter2 leaked", extra=["hunter2hunter2"])
    'token *** leaked'
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterable

#: environment variables whose values are secrets (read at call time: never cached in a global)
SECRET_ENV_VARS: tuple[str, ...] = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "TINYTROUPE_OPENAI__API_KEY",
                                    "TINYTROUPE_OPENAI__AZURE_API_KEY")
# Shorter values are too likely to occur in ordinary text to be masked wherever they appear.
_MIN_SECRET_LEN = 8
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsk-[A-Za-z0-9_\-*.]{4,}"), "sk-***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9_\-.=+/]{6,}"), r"\1 ***"),
    (re.compile(r"(?i)\b(api[-_]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9_\-.]{8,}"), r"\1***"),
)


def _secrets(extra: Iterable[str | None]) -> list[str]:
    found = [os.environ.get(name) for name in SECRET_ENV_VARS]
    values = {v for v in (*found, *extra) if v and len(v) >= _MIN_SECRET_LEN}
    # Longest first, so a secret that contains another is masked whole.
    return sorted(values, key=len, reverse=True)


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret and every key-shaped token replaced by ``***``."""
    for secret in _secrets(extra):
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redacted_traceback(exc: BaseException, extra: Iterable[str | None] = ()) -> str:
    """The formatted traceback of ``exc`` (its causes included), with secrets masked.

    Example:
        >>> try:
        ...     raise ValueError("bad key sk-abcdef123456")
        ... except ValueError as e:
        ...     "sk-abcdef123456" in redacted_traceback(e)
        False
    """
    return redact("".join(traceback.format_exception(exc)), extra)


__all__ = ["SECRET_ENV_VARS", "redact", "redacted_traceback"]
