"""``Normalizer``: free-text items (answers, ideas, complaints) grouped into at most *n* categories by a model.

Building a :class:`Normalizer` asks the model for the categories of its elements (as TinyTroupe's
does); :meth:`Normalizer.normalize` then maps any item, known or new, to one of them, asking the
model only about items it has not seen (the mapping is cached).

Prompts stay bounded however many elements there are: elements go to the model in batches that fit
the prompt budget (each batch holds more than *n* items, so batching always merges); when batches
yield more than *n* labels altogether, the labels are grouped again the same way, until at most *n*
remain. Items are numbered in the prompt and answers name numbers, so an answer cannot misquote an
item; an answer that leaves an item out, puts one in two categories, has more than *n* categories or
a label over ``max_length`` is re-asked, then raised as :class:`~tinytroupe.errors.LLMOutputError`
(TinyTroupe fell back to the identity mapping, merged the overflow into "Other" and cut labels).

Example (a scripted model stands in for a real one):
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([
    ...     {"categories": [{"label": "price", "members": [1, 3]}, {"label": "battery", "members": [2]}]},
    ...     {"categories": [1]}]))
    >>> norm = Normalizer(["too expensive", "battery dies fast", "costs too much"], n=2, client=client)
    >>> norm.normalized_mapping()
    {'price': ['too expensive', 'costs too much'], 'battery': ['battery dies fast']}
    >>> norm.normalize(["costs too much", "way overpriced"])
    ['price', 'price']
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, model_validator

from tinytroupe.aio import run_sync
from tinytroupe.context import current_context
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.extraction.templates import render_template
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.tokens import chars_for_tokens
from tinytroupe.llm.types import Message

logger = logging.getLogger(__name__)

#: the most characters of items one prompt lists (less when the client's model prefers shorter prompts)
BATCH_CHAR_BUDGET = 12_000
#: an item longer than this is shown cut in prompts (it keeps its number, so its mapping is exact)
ITEM_CHARS = 400


class Category(BaseModel):
    label: str = Field(description="a short name for what the items have in common")
    members: list[int] = Field(description="the numbers of the items in this category")


class Clusters(BaseModel):
    """The model's grouping of ``count`` numbered items into at most ``n`` categories (from the
    validation context)."""

    categories: list[Category]

    @model_validator(mode="after")
    def _a_partition(self, info: ValidationInfo) -> Clusters:
        ctx = info.context or {}
        count, n, max_length = ctx.get("count"), ctx.get("n"), ctx.get("max_length")
        problems = []
        labels = [c.label.strip() for c in self.categories]
        if not self.categories:
            problems.append("give at least one category")
        if n is not None and len(self.categories) > n:
            problems.append(f"{len(self.categories)} categories; give at most {n}")
        if any(not label for label in labels):
            problems.append("every category needs a label")
        if len(set(labels)) < len(labels):
            problems.append("two categories have the same label; merge them")
        if max_length is not None and any(len(label) > max_length for label in labels):
            problems.append(f"labels must have at most {max_length} characters")
        if count is not None:
            seen = [m for c in self.categories for m in c.members]
            if sorted(seen) != list(range(1, count + 1)):
                missing = sorted(set(range(1, count + 1)) - set(seen))[:10]
                twice = sorted(m for m, k in Counter(seen).items() if k > 1)[:10]
                unknown = sorted(set(seen) - set(range(1, count + 1)))[:10]
                problems.append(f"put each item 1..{count} in exactly one category (missing: {missing}, "
                                f"more than once: {twice}, unknown: {unknown})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Assignments(BaseModel):
    """The model's category number (1-based) for each of ``count`` items, of ``categories`` categories."""

    categories: list[int] = Field(description="one category number per item, in the items' order")

    @model_validator(mode="after")
    def _one_per_item(self, info: ValidationInfo) -> Assignments:
        ctx = info.context or {}
        count, m = ctx.get("count"), ctx.get("categories")
        if count is not None and len(self.categories) != count:
            raise ValueError(f"{len(self.categories)} numbers for {count} items; give exactly one per item")
        if m is not None and any(not 1 <= c <= m for c in self.categories):
            raise ValueError(f"category numbers go from 1 to {m}")
        return self


def _shown(item: str) -> str:
    text = " ".join(item.split())
    return text if len(text) <= ITEM_CHARS else text[: ITEM_CHARS - 1] + "…"


def _batches(items: Sequence[str], budget: int, at_least: int) -> list[list[str]]:
    """``items`` in order, in batches of about ``budget`` characters, each of at least ``at_least`` items
    (but the last)."""
    batches: list[list[str]] = [[]]
    size = 0
    for item in items:
        cost = len(_shown(item)) + 8
        if size + cost > budget and len(batches[-1]) >= at_least:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += cost
    return batches


def _check_elements(elements: Any) -> list[str]:
    if isinstance(elements, str) or not isinstance(elements, Sequence):
        raise InvalidArgumentType(f"elements must be a list of strings, got {type(elements).__name__}")
    for i, e in enumerate(elements):
        if not isinstance(e, str):
            raise InvalidArgumentType(f"elements[{i}] must be a string, got {type(e).__name__}")
        if not e.strip():
            raise InvalidArgument(f"elements[{i}] is empty; remove empty answers before normalising")
    unique = list(dict.fromkeys(elements))  # duplicates once, in first-seen order (TinyTroupe: a set)
    if not unique:
        raise InvalidArgument("elements is empty; give the texts to normalise")
    return unique


class Normalizer:
    """Groups ``elements`` into at most ``n`` categories (TinyTroupe's ``Normalizer``).

    Args:
        elements: the texts to group (duplicates count once).
        n: the most categories.
        verbose: log the categories found at INFO instead of DEBUG.
        max_length: the longest label allowed (None: any).
        client: the LLM client (default: the run context's).

    Raises:
        InvalidArgument / InvalidArgumentType: bad ``elements``, ``n`` or ``max_length`` (before any call).
        LLMOutputError: the model's grouping stayed invalid after the re-asks.
    """

    def __init__(self, elements: list[str], n: int, verbose: bool = False, max_length: int | None = None, *,
                 client: LLMClient | None = None) -> None:
        self._setup(elements, n, verbose, max_length, client)
        run_sync(self._abuild())

    def _setup(self, elements: list[str], n: int, verbose: bool, max_length: int | None,
               client: LLMClient | None) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgument(f"n is the most categories, a whole number of at least 1; got {n!r}")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                       or max_length < 1):
            raise InvalidArgument(f"max_length must be a whole number of at least 1 or None; got {max_length!r}")
        self.elements = _check_elements(elements)
        self.n = n
        self.verbose = verbose
        self.max_length = max_length
        self.client = client
        #: label -> the elements in that category
        self.normalized_elements: dict[str, list[str]] = {}
        #: element -> its label (the cache :meth:`normalize` reads)
        self.normalizing_map: dict[str, str] = {}

    @classmethod
    async def acreate(cls, elements: list[str], n: int, verbose: bool = False, max_length: int | None = None, *,
                      client: LLMClient | None = None) -> Normalizer:
        """Async twin of the constructor (the grouping is awaited here)."""
        norm = cls.__new__(cls)
        norm._setup(elements, n, verbose, max_length, client)
        await norm._abuild()
        return norm

    def _client(self) -> LLMClient:
        return self.client if self.client is not None else current_context().client

    def _budget(self) -> int:
        hint = self._client().prompt_token_hint
        return BATCH_CHAR_BUDGET if hint is None else min(BATCH_CHAR_BUDGET, chars_for_tokens(hint) // 2)

    async def _agroup(self, items: list[str]) -> dict[str, str]:
        """item -> label for ``items``, with at most ``n`` labels, through as many rounds as it takes."""
        mapping: dict[str, str] = {}
        for batch in _batches(items, self._budget(), self.n + 1):
            messages = [Message(role="system", content=render_template("normalize_system.j2", n=self.n,
                                                                       max_length=self.max_length)),
                        Message(role="user", content=render_template("normalize_user.j2",
                                                                     items=[_shown(i) for i in batch], n=self.n))]
            result = await self._client().acomplete(
                messages, response_model=Clusters, purpose="normalization",
                validation_context={"count": len(batch), "n": self.n, "max_length": self.max_length})
            for category in result.value.categories:
                mapping.update({batch[m - 1]: category.label.strip() for m in category.members})
        labels = list(dict.fromkeys(mapping.values()))
        if len(labels) > self.n:  # several batches: group their labels in turn (fewer each round)
            merged = await self._agroup(labels)
            mapping = {item: merged[label] for item, label in mapping.items()}
        return mapping

    async def _abuild(self) -> None:
        self.normalizing_map = await self._agroup(self.elements)
        self.normalized_elements = {}
        for element in self.elements:
            self.normalized_elements.setdefault(self.normalizing_map[element], []).append(element)
        logger.log(logging.INFO if self.verbose else logging.DEBUG, "normalised %d elements into %d categories: %s",
                   len(self.elements), len(self.normalized_elements), list(self.normalized_elements))

    async def _aassign(self, items: list[str]) -> None:
        labels = list(self.normalized_elements)
        for batch in _batches(items, self._budget(), 1):
            messages = [Message(role="system", content=render_template("normalize_apply_system.j2")),
                        Message(role="user", content=render_template("normalize_apply_user.j2", categories=labels,
                                                                     items=[_shown(i) for i in batch]))]
            result = await self._client().acomplete(messages, response_model=Assignments, purpose="normalization",
                                                    validation_context={"count": len(batch),
                                                                        "categories": len(labels)})
            self.normalizing_map.update({item: labels[c - 1] for item, c in zip(batch, result.value.categories,
                                                                                strict=True)})

    async def anormalize(self, element_or_elements: str | list[str]) -> str | list[str]:
        """Async twin of :meth:`normalize`."""
        single = isinstance(element_or_elements, str)
        if not single and not isinstance(element_or_elements, list):
            raise InvalidArgumentType("normalize takes a string or a list of strings, got "
                                      f"{type(element_or_elements).__name__}")
        given: list[Any] = [element_or_elements] if single else list(element_or_elements)
        for i, item in enumerate(given):
            if not isinstance(item, str):
                raise InvalidArgumentType(f"item {i} to normalise must be a string, got {type(item).__name__}")
        items: list[str] = given
        new = [i for i in dict.fromkeys(items) if i not in self.normalizing_map]
        if new:
            await self._aassign(new)
        out = [self.normalizing_map[i] for i in items]
        return out[0] if single else out

    def normalize(self, element_or_elements: str | list[str]) -> str | list[str]:
        """The label of one item (a string in, a string out) or of each item of a list, in order.

        Items seen before (the elements, or earlier calls) are answered from the cache; new ones are
        asked of the model in batches.

        Raises:
            InvalidArgumentType: not a string or a list of strings.
            LLMOutputError: the model's assignment stayed invalid after the re-asks.
        """
        return run_sync(self.anormalize(element_or_elements))

    def normalized_mapping(self) -> dict[str, list[str]]:
        """label -> the elements grouped under it (a copy)."""
        return {label: list(items) for label, items in self.normalized_elements.items()}


__all__ = ["BATCH_CHAR_BUDGET", "ITEM_CHARS", "Assignments", "Clusters", "Normalizer"]
