"""Plausible log-probabilities for the mock server's chat answers, for requests that ask for ``logprobs``.

When the last user message lists options with labels (lines such as ``A. Yes`` or ``2) Often``),
the first answer token's distribution spreads over those labels (a Dirichlet draw seeded by the
messages, so the same prompt always gets the same distribution) with a little probability left on
tokens that are not labels, as a real chat model leaves; the answer is the most likely label.
Without labels the answer's first word gets most of the probability. Only the first token carries
``top_logprobs``: that is all tinytroupe reads.

Example:
    >>> body = {"messages": [{"role": "user", "content": "Pick one:\\nA. tea\\nB. coffee"}], "top_logprobs": 3}
    >>> text, block = answer_logprobs(body, "ignored", scripted=False)
    >>> text in ("A", "B"), len(block["content"][0]["top_logprobs"])
    (True, 3)
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from typing import Any

_LABEL_LINE = re.compile(r"^[ \t]*([A-Z]|[1-9])[.)][ \t]+\S", re.M)
#: first tokens that are not labels, and their shares of the probability left off the labels
_FILLERS = (("The", 0.5), ("I", 0.3), ("**", 0.2))
#: the most probability left off the labels
MAX_OFF_LABELS = 0.1


def option_labels(body: dict[str, Any]) -> list[str]:
    """The option labels listed in the request's last user message, in order, each once.

    Example:
        >>> option_labels({"messages": [{"role": "user", "content": "A. yes\\nB) no\\nC. maybe\\nA. again"}]})
        ['A', 'B', 'C']
    """
    last = next((m for m in reversed(body.get("messages") or []) if isinstance(m, dict) and m.get("role") == "user"),
                {})
    return list(dict.fromkeys(_LABEL_LINE.findall(str(last.get("content", "")))))


def _distribution(body: dict[str, Any], text: str, scripted: bool) -> tuple[str, dict[str, float]]:
    """The answer and its first token's probabilities (deterministic per request messages)."""
    seed = hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True, default=str).encode()).digest()
    rng = random.Random(seed)
    labels = option_labels(body)
    if labels:
        draws = [rng.gammavariate(1.0, 1.0) for _ in labels]
        off = MAX_OFF_LABELS * rng.random()
        probs = {label: (1.0 - off) * d / sum(draws) for label, d in zip(labels, draws, strict=True)}
        answer = text if scripted else max(probs, key=lambda k: probs[k])
    else:
        answer, off = text, 0.1
        first = (text.split() or [text])[0]
        probs = {first: 1.0 - off}
    for token, share in _FILLERS:
        probs[token] = probs.get(token, 0.0) + off * share
    return answer, probs


def answer_logprobs(body: dict[str, Any], text: str, *, scripted: bool) -> tuple[str, dict[str, Any]]:
    """The answer text and the choice's ``logprobs`` block for a chat request that asked for them.

    ``text`` is the answer the server would give; when the request lists option labels and the
    answer was not scripted (``scripted=False``), the most likely label replaces it.
    """
    answer, probs = _distribution(body, text, scripted)
    ranked = sorted(probs.items(), key=lambda tp: -tp[1])
    try:
        wanted = max(0, min(20, int(body.get("top_logprobs") or 0)))
    except (TypeError, ValueError):
        wanted = 0
    top = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode("utf-8"))} for t, p in ranked[:wanted]]
    first = (answer.split() or [answer])[0] if answer.strip() else answer
    chosen = math.log(probs[first]) if probs.get(first) else math.log(0.5)
    entry = {"token": first, "logprob": chosen, "bytes": list(first.encode("utf-8")), "top_logprobs": top}
    return answer, {"content": [entry], "refusal": None}


__all__ = ["MAX_OFF_LABELS", "answer_logprobs", "option_labels"]
