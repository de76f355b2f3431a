"""Scoring option labels with the embedded model: each label's log-probability as the next token.

One forward pass over the prompt gives the model's next-token distribution; each label's tokens
(``"A"`` and ``" A"``, whichever are single tokens) are read from it exactly, with the few tokens the
model liked best besides (to show what else it wanted to say). The prompt's longest prefix already
in the model's KV cache is not evaluated again, as llama-cpp-python's own generation does, so an
agent's later calls (its persona comes first) pay only for what changed.

Reading logits directly is needed because llama-cpp-python's ``create_completion(logprobs=...)``
demands a model loaded with ``logits_all=True``, which keeps a row of 262k floats per context
position for the bundled Gemma (gigabytes at ``n_ctx=4096``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytroupe.llm.types import Completion, FirstTokenLogprobs, TokenLogprob, Usage

#: the model's most likely next tokens reported besides the labels'
TOP_OTHERS = 5


def _eval_prompt(llm: Any, tokens: list[int]) -> None:
    """Evaluate ``tokens``, reusing the KV cache of the prefix they share with what was evaluated last."""
    cached = np.asarray(llm.input_ids[: llm.n_tokens])
    head = np.asarray(tokens[: len(cached)])
    differs = np.flatnonzero(cached[: len(head)] != head)
    common = int(differs[0]) if len(differs) else len(head)
    # At least the last token is evaluated again: its logits are the ones read.
    reuse = min(common, len(tokens) - 1)
    # A recurrent model's state cannot be cut back to a prefix (llama.cpp refuses): start over.
    if reuse <= 0 or getattr(llm, "_is_recurrent", False) or getattr(llm, "_is_hybrid", False):
        llm.reset()
        reuse = 0
    llm.n_tokens = reuse
    llm.eval(tokens[reuse:])


def _piece(llm: Any, token_id: int) -> str:
    return bytes(llm.detokenize([token_id])).decode("utf-8", errors="replace")


def score_labels(llm: Any, llama_cpp: Any, prompt: str, labels: Sequence[str]) -> tuple[FirstTokenLogprobs, int]:
    """The next token's log-probability for each label after ``prompt``, and the prompt's token count.

    ``llm`` is a loaded ``llama_cpp.Llama`` (its lock held by the caller). Labels that are not a
    single token of the model's vocabulary (with or without a leading space) cannot be scored and
    are left out; :func:`~tinytroupe.llm.logprobs.label_scores` then gives them no probability.
    """
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
    _eval_prompt(llm, tokens)
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
    wide = logits.astype(np.float64)
    logprobs = wide - np.logaddexp.reduce(wide)
    chosen: dict[int, str] = {}
    for label in labels:
        for variant in (label, " " + label):
            ids = llm.tokenize(variant.encode("utf-8"), add_bos=False, special=False)
            if len(ids) == 1:
                chosen.setdefault(int(ids[0]), variant)
    for token_id in np.argsort(logprobs)[::-1][:TOP_OTHERS]:
        chosen.setdefault(int(token_id), _piece(llm, int(token_id)))
    alternatives = [TokenLogprob(token=text, logprob=min(0.0, max(float(logprobs[i]), -1e4)))
                    for i, text in chosen.items()]
    alternatives.sort(key=lambda a: -a.logprob)
    return FirstTokenLogprobs(alternatives=alternatives, exact=True), len(tokens)


def scored_completion(llm: Any, llama_cpp: Any, prompt: str, labels: Sequence[str], *, model: str,
                      started: float) -> Completion:
    """:func:`score_labels` as the local backend's answer: the most likely token as its text."""
    logprobs, prompt_tokens = score_labels(llm, llama_cpp, prompt, labels)
    return Completion(text=logprobs.alternatives[0].token.strip(), model=model, backend="local",
                      usage=Usage(prompt_tokens=prompt_tokens), latency_s=time.perf_counter() - started,
                      finish_reason="stop", logprobs=logprobs)


__all__ = ["TOP_OTHERS", "score_labels", "scored_completion"]
