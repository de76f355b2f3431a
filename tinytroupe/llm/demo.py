"""A deterministic stand-in model for demos, dry runs and benchmarks: ``--backend scripted``.

:class:`SchemaFiller` answers any structured request with a valid object built from its JSON schema
(values drawn from a generator seeded by the request, so the same request always gets the same
answer) and any text request with a short canned sentence. It exercises the whole pipeline with no
model at all; its content means nothing.

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
    """Builds a valid instance of a request's JSON schema, deterministically per request."""

    def __init__(self, *, salt: str = "") -> None:
        self.salt = salt

    def __call__(self, request: LLMRequest) -> str | dict[str, Any] | list[Any]:
        seed = hashlib.sha256((self.salt + request.canonical_json()).encode()).digest()
        rng = random.Random(seed)
        if request.response_schema is None:
            return rng.choice(_SENTENCES)
        schema = request.response_schema
        value = self._fill(schema, schema.get("$defs", {}), rng, depth=0)
        if not isinstance(value, dict | list):
            raise TypeError("SchemaFiller only answers schemas whose top level is an object or an array")
        return value

    def _fill(self, node: dict[str, Any], defs: dict[str, Any], rng: random.Random, depth: int) -> Any:
        if depth > 12:
            raise ValueError("schema nested more than 12 levels; SchemaFiller stops here")
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
            high = max(low, min(int(node.get("maxItems", 2)), 2))
            return [self._fill(items, defs, rng, depth + 1) for _ in range(rng.randint(low, high))]
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


def demo_backend(*, latency_s: float = 0.0, salt: str = "") -> ScriptedBackend:
    """A :class:`ScriptedBackend` that answers everything with :class:`SchemaFiller`."""
    return ScriptedBackend(SchemaFiller(salt=salt), latency_s=latency_s, model="demo")


__all__ = ["SchemaFiller", "demo_backend"]
