"""The one tokenizer-free token estimate: about 4 characters per token (English text).

Prompt budgets, rate-limit reservations, the scripted backend's and the mock server's usage, and
memory sections all count with it, so a budget of N tokens means the same everywhere. It rounds up:
a budget never lets through more than it says, and a non-empty text is never free.

Example:
    >>> estimate_tokens(""), estimate_tokens("abcd"), estimate_tokens("abcde")
    (0, 1, 2)
    >>> tokens_for_chars(400), chars_for_tokens(100)
    (100, 400)
"""

from __future__ import annotations

#: characters per token assumed by every estimate
CHARS_PER_TOKEN = 4


def tokens_for_chars(chars: int) -> int:
    """Tokens that ``chars`` characters of text are estimated to take (rounded up)."""
    return -(-max(0, chars) // CHARS_PER_TOKEN)


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` is estimated to take (rounded up; no tokenizer needed)."""
    return tokens_for_chars(len(text))


def chars_for_tokens(tokens: int) -> int:
    """How many characters fit in a budget of ``tokens`` tokens."""
    return tokens * CHARS_PER_TOKEN


__all__ = ["CHARS_PER_TOKEN", "chars_for_tokens", "estimate_tokens", "tokens_for_chars"]
