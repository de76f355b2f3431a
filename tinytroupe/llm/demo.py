"""A deterministic stand-in model for demos, dry runs and benchmarks: ``--backend scripted``.

:class:`SchemaFiller` answers any structured request with a valid object built from its JSON schema
(values drawn from a generator seeded by the request and the filler's own ``seed``, so the same
request with the same seed always gets the same answer, and another seed another one) and any text
request with a short canned sentence. It exercises the whole pipeline with no model at all; its
content means nothing. An agent's turn always says something (a list of actions ends with a TALK),
so a demo world or ``tinytroupe chat --backend scripted`` shows a conversation.

Example:
    >>> from pydantic import BaseModel
    >>> from tinytroupe.llm import LLMClient
    >>> class Rating(BaseModel):
    ...     score: int
    >>> client = LLMClient(demo_backend())
    >>> isinstance(client.complete([{"role": "user", "content": "rate it"}], response_model=Rating).value.score, int)
    True
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.llm.scripted import ScriptedBackend
from tinytroupe.llm.types import LLMRequest

_SENTENCES = (
    "That sounds interesting, but I would like to know more.",
    "I am not sure it is worth the price.",
    "I could see myself using it every day.",
    "It reminds me of something I tried before.",
    "Honestly, I have mixed feelings about it.",
    "I would ask my friends what they think first.",
)


class SchemaFiller:
    """Builds a valid instance of a request's JSON schema, deterministically per request and seed.

    Args:
        seed: another seed gives other (equally valid) answers to the same requests; it is part of
            :meth:`identity`, so a response cache keeps each seed's answers apart.
        salt: extra text mixed into every request's generator (kept for older callers).

    Example:
        >>> from tinytroupe.llm.types import LLMRequest, Message
        >>> ask = LLMRequest(messages=[Message(role="user", content="Say something")])
        >>> SchemaFiller(seed=1)(ask) == SchemaFiller(seed=1)(ask), SchemaFiller(seed=1).identity()
        (True, {'demo_seed': 1})
    """

    def __init__(self, *, seed: int | None = None, salt: str = "") -> None:
        self.seed = seed
        self.salt = salt

    def identity(self) -> dict[str, Any]:
        """What besides the request decides the answers (merged into the backend's identity)."""
        return {} if self.seed is None else {"demo_seed": self.seed}

    def __call__(self, request: LLMRequest) -> str | dict[str, Any] | list[Any]:
        # No seed hashes exactly as before seeds existed, so earlier demo runs and caches still match.
        prefix = self.salt if self.seed is None else f"{self.seed}:{self.salt}"
        digest = hashlib.sha256((prefix + request.canonical_json()).encode()).digest()
        rng = random.Random(digest)
        if request.response_schema is None:
            return rng.choice(_SENTENCES)
        schema = request.response_schema
        value = self._fill(schema, schema.get("$defs", {}), rng, depth=0)
        if not isinstance(value, dict | list):
            raise InvalidArgumentType("SchemaFiller only answers schemas whose top level is an object or an array")
        return value

    def _fill(self, node: dict[str, Any], defs: dict[str, Any], rng: random.Random, depth: int) -> Any:
        if depth > 12:
            raise InvalidArgument("schema nested more than 12 levels; SchemaFiller stops here")
        if "$ref" in node:
            return self._fill(defs[node["$ref"].rsplit("/", 1)[-1]], defs, rng, depth + 1)
        for key in ("anyOf", "oneOf"):
            if key in node:
                options = [o for o in node[key] if o.get("type") != "null"] or node[key]
                return self._fill(options[0], defs, rng, depth + 1)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            options = list(node["enum"])
            # Agents end turns with DONE: prefer a real action so demos show conversation.
            non_done = [o for o in options if o != "DONE"]
            return rng.choice(non_done or options)
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            # An empty target means "everyone around", which keeps demo conversations routable.
            return {name: "" if name == "target" else self._fill(sub, defs, rng, depth + 1)
                    for name, sub in node.get("properties", {}).items()}
        if kind == "array":
            items = node.get("items", {"type": "string"})
            low = int(node.get("minItems", 1))
            actions = "TALK" in self._enum_of(items, "type", defs)
            # A list of actions keeps a place for the closing DONE the agent adds, so none is cut off.
            room = int(node.get("maxItems", 3)) - (1 if actions else 0)
            high = max(low, min(room, 2))
            out = [self._fill(items, defs, rng, depth + 1) for _ in range(rng.randint(low, high))]
            if actions and out and isinstance(out[-1], dict):
                # End by saying something, so every demo turn shows a reply.
                out[-1]["type"] = "TALK"
            return out
        if kind == "integer":
            low = int(node.get("minimum", 1))
            return rng.randint(low, int(node.get("maximum", low + 9)))
        if kind == "number":
            lo = float(node.get("minimum", 0.0))
            return round(rng.uniform(lo, float(node.get("maximum", lo + 1.0))), 3)
        if kind == "boolean":
            return rng.random() < 0.5
        text = rng.choice(_SENTENCES)
        return text[: int(node.get("maxLength", len(text)))]

    def _enum_of(self, node: dict[str, Any], field: str, defs: dict[str, Any]) -> list[Any]:
        """The enum values of an object schema's ``field`` (empty when it has none)."""
        if "$ref" in node:
            node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        sub = node.get("properties", {}).get(field, {})
        if "$ref" in sub:
            sub = defs.get(sub["$ref"].rsplit("/", 1)[-1], {})
        return list(sub.get("enum", ()))


def demo_backend(*, seed: int | None = None, latency_s: float = 0.0, salt: str = "") -> ScriptedBackend:
    """A :class:`ScriptedBackend` that answers everything with :class:`SchemaFiller` (``seed`` chooses
    which of its deterministic answers; ``tinytroupe run --seed N`` passes it through the settings).

    Example:
        >>> demo_backend(seed=3).identity()
        {'backend': 'scripted', 'model': 'demo', 'demo_seed': 3}
    """
    return ScriptedBackend(SchemaFiller(seed=seed, salt=salt), latency_s=latency_s, model="demo")


__all__ = ["SchemaFiller", "demo_backend"]
