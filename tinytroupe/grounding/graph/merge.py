"""The rule that decides when two names are one entity, and the ids that make replays write the same rows.

The rule, in order:

1. **Normalised names.** A name is normalised by Unicode NFKC, case folding, dropping a leading "the",
   "a" or "an", turning punctuation into spaces (an apostrophe's "s" is dropped with it) and
   collapsing whitespace: "The ACME Corp." and "acme corp" are the same key.
2. **Aliases.** An entity is known by its name and every alias; a new mention whose name *or* any alias
   has the key of a known entity's name or alias is that entity (the earliest added, if several).
3. **Embeddings (optional).** With an embedder and a threshold, a mention that matched no key is the
   known entity whose name is most similar by cosine, if at least the threshold, and the two types are
   compatible (equal, or one of them the generic ``thing``).
4. Otherwise it is a new entity.

Ids derive from content: an entity's from its first normalised name, a relation's from its subject's
and object's ids and its normalised predicate. A replayed run extracts the same names, so it writes the
same ids and replaces rows instead of adding them.

Example:
    >>> normalize_name("The ACME Corp."), normalize_name("Ana's"), normalize_predicate("Works At")
    ('acme corp', 'ana', 'works_at')
    >>> entity_id("Ana Lima")
    'e-ana-lima-357a7e'
    >>> idx = NameIndex()
    >>> idx.add("e-ana", ["Ana Lima", "Ana"])
    >>> idx.match(["ANA"]), idx.match(["Ben"])
    ('e-ana', None)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from tinytroupe.embeddings.port import Embedder, FloatArray
from tinytroupe.errors import InvalidArgument
from tinytroupe.grounding.graph.models import GENERIC_TYPE

_ARTICLE = re.compile(r"^(?:the|a|an)\s+")
_POSSESSIVE = re.compile(r"['’]s\b")
_NON_WORD = re.compile(r"[^\w]+")
_SLUG = re.compile(r"[^a-z0-9]+")


def normalize_name(name: str) -> str:
    """The key two names must share to be the same entity (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name).casefold().strip()
    text = _POSSESSIVE.sub("", text)
    text = _NON_WORD.sub(" ", text).strip()
    return _ARTICLE.sub("", text).strip()


def normalize_predicate(predicate: str) -> str:
    """Predicates compare as lower-case words joined by underscores: "Works At" is ``works_at``."""
    return "_".join(normalize_name(predicate).split())


def normalize_type(kind: str) -> str:
    """Entity types compare as lower-case single words: "Organisation " is ``organisation``."""
    return "_".join(normalize_name(kind).split()) or GENERIC_TYPE


def entity_id(name: str) -> str:
    """A readable id derived from the normalised name (a slug and a short digest, so slugs never collide).

    Raises:
        InvalidArgument: the name has nothing left once normalised.
    """
    key = normalize_name(name)
    if not key:
        raise InvalidArgument(f"entity name {name!r} is empty once normalised; give a name with letters or digits")
    slug = _SLUG.sub("-", unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()).strip("-")[:40]
    return f"e-{slug + '-' if slug else ''}{hashlib.sha256(key.encode()).hexdigest()[:6]}"


def relation_id(subject_id: str, predicate: str, object_id: str) -> str:
    """The id of ``subject -predicate-> object``: the same fact read twice is one relation."""
    digest = hashlib.sha256(f"{subject_id}\x00{normalize_predicate(predicate)}\x00{object_id}".encode()).hexdigest()
    return f"r-{digest[:16]}"


def compatible_types(a: str, b: str) -> bool:
    """Whether entities of types ``a`` and ``b`` may be merged (equal, or one is the generic type)."""
    return a == b or GENERIC_TYPE in (a, b)


class NameIndex:
    """Normalised names and aliases -> entity id, with optional name embeddings for rule 3.

    Args:
        embedder: embeds entity names for the similarity rule (None: rules 1-2 only).
        threshold: the least cosine similarity that merges two names (used only with an embedder).
    """

    def __init__(self, embedder: Embedder | None = None, threshold: float = 0.92) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InvalidArgument(f"similarity threshold must be in (0, 1], got {threshold}")
        self.embedder = embedder
        self.threshold = threshold
        self._keys: dict[str, str] = {}
        self._ids: list[str] = []
        self._position: dict[str, int] = {}
        self._types: list[str] = []
        self._vectors: list[FloatArray] = []
        self._matrix: FloatArray | None = None

    def add(self, eid: str, names: Iterable[str], type: str = GENERIC_TYPE, vector: FloatArray | None = None) -> None:
        """Index ``names`` (the name and aliases) under ``eid``; a key already taken keeps its first entity."""
        new = eid not in self._position
        for name in names:
            key = normalize_name(name)
            if key:
                self._keys.setdefault(key, eid)
        if new and self.embedder is not None:
            vec = vector if vector is not None else self.embedder.embed([next(iter(names), eid)])[0]
            self._position[eid] = len(self._ids)
            self._ids.append(eid)
            self._types.append(type)
            self._vectors.append(vec)
            self._matrix = None

    def retype(self, eid: str, type: str) -> None:
        """Record that ``eid``'s type changed (a generic entity given a specific type)."""
        at = self._position.get(eid)
        if at is not None:
            self._types[at] = type

    def match(self, names: Sequence[str], type: str = GENERIC_TYPE) -> str | None:
        """The id of the entity ``names`` (a name, then its aliases) belong to by rules 1-3, or None."""
        for name in names:
            found = self._keys.get(normalize_name(name))
            if found is not None:
                return found
        if self.embedder is None or not self._ids or not names:
            return None
        if self._matrix is None:
            self._matrix = np.vstack(self._vectors)
        scores = self._matrix @ self.embedder.embed([names[0]])[0]
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] < self.threshold:
                break
            if compatible_types(self._types[i], type):
                return self._ids[i]
        return None

    def keys(self) -> dict[str, str]:
        """Every indexed key and its entity id (for mention finding)."""
        return self._keys


__all__ = ["NameIndex", "compatible_types", "entity_id", "normalize_name", "normalize_predicate",
           "normalize_type", "relation_id"]
