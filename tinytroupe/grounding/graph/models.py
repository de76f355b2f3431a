"""The data of a knowledge graph: entities, relations, what a model extracts, and views of a graph.

An :class:`Entity` is a node (a person, place, organisation, thing...) with a canonical name, a type
and aliases; a :class:`Relation` is a directed edge ``subject -predicate-> object``. Both carry the ids
of the texts or events they were read from (``sources``) and the step they were first seen at. Ids are
derived from content (:mod:`.merge`), so a replayed run writes the same ids again.

Example:
    >>> e = Entity(id="e-ana", name="Ana", type="person")
    >>> r = Relation(id="r-1", subject="e-ana", predicate="works_at", object="e-acme")
    >>> GraphView(entities=[e], relations=[r]).model_dump()["relations"][0]["predicate"]
    'works_at'
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

#: the type an entity gets when the model gives none (any other type refines it when merging)
GENERIC_TYPE = "thing"


class Entity(BaseModel):
    """A node of the graph: one real-world entity, however many names it goes by."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    type: str = GENERIC_TYPE
    aliases: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    #: the step of the world the entity was first seen at (None: outside a world)
    step: int | None = None


class Relation(BaseModel):
    """A directed edge ``subject -predicate-> object`` between two entity ids."""

    model_config = ConfigDict(frozen=True)

    id: str
    subject: str
    predicate: str
    object: str
    sources: list[str] = Field(default_factory=list)
    step: int | None = None


class ExtractedEntity(BaseModel):
    """An entity as the model names it in one extraction."""

    name: str = Field(min_length=1, description="the entity's most complete name as written")
    type: str = Field(default=GENERIC_TYPE, description="person, organisation, place, product, event, concept...")
    aliases: list[str] = Field(default_factory=list, description="other names used for it in the texts")


class ExtractedRelation(BaseModel):
    """A relation as the model states it, naming the text it was read from."""

    subject: str = Field(min_length=1, description="an entity name from the entities list")
    predicate: str = Field(min_length=1, description="a short verb phrase, e.g. works_at, likes, lives_in")
    object: str = Field(min_length=1, description="an entity name from the entities list")
    source: str = Field(min_length=1, description="the id of the text the relation was read from")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("sources")
        if known is not None and value not in known:
            raise ValueError(f"source {value!r} is not one of the text ids given: {sorted(known)}")
        return value


class GraphExtraction(BaseModel):
    """What one extraction call returns: the entities of the texts and the relations between them.

    Every relation's subject and object must name one of ``entities`` (by name or alias), so the model
    is asked again rather than an entity being invented.

    Example:
        >>> from pydantic import ValidationError
        >>> try:
        ...     GraphExtraction.model_validate({"entities": [{"name": "Ana"}],
        ...         "relations": [{"subject": "Ana", "predicate": "knows", "object": "Ben", "source": "t1"}]})
        ... except ValidationError as exc:
        ...     print(exc.errors()[0]["msg"][:59])
        Value error, relation 0 names 'Ben' as its object, which is
    """

    entities: list[ExtractedEntity] = Field(default_factory=list)
    relations: list[ExtractedRelation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _relations_name_entities(self) -> GraphExtraction:
        names = {n.casefold().strip() for e in self.entities for n in (e.name, *e.aliases)}
        for i, rel in enumerate(self.relations):
            for role in ("subject", "object"):
                value = getattr(rel, role)
                if value.casefold().strip() not in names:
                    raise ValueError(f"relation {i} names {value!r} as its {role}, which is not in the entities "
                                     "list; add it there or leave the relation out")
        return self


class MergeReport(BaseModel):
    """What merging an extraction into a graph did."""

    entities_added: int = 0
    entities_merged: int = 0
    relations_added: int = 0
    relations_merged: int = 0


class GraphView(BaseModel):
    """A part of a graph (a neighbourhood, a query's answer): its entities and the relations among them."""

    entities: list[Entity] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """One sentence per relation, ``Ana (person) works at Acme (organisation).``, then lone entities."""
        by_id = {e.id: e for e in self.entities}
        out: list[str] = []
        linked: set[str] = set()
        for r in self.relations:
            s, o = by_id.get(r.subject), by_id.get(r.object)
            if s is None or o is None:
                continue
            linked.update((s.id, o.id))
            out.append(f"{_label(s)} {r.predicate.replace('_', ' ')} {_label(o)}.")
        out += [f"{_label(e)}." for e in self.entities if e.id not in linked]
        return out

    def trimmed(self, max_nodes: int) -> GraphView:
        """This view cut to its ``max_nodes`` best-connected entities and the relations among them."""
        if len(self.entities) <= max_nodes:
            return self
        degree: dict[str, int] = {}
        for r in self.relations:
            degree[r.subject] = degree.get(r.subject, 0) + 1
            degree[r.object] = degree.get(r.object, 0) + 1
        keep = {e.id for e in sorted(self.entities, key=lambda e: -degree.get(e.id, 0))[:max_nodes]}
        return GraphView(entities=[e for e in self.entities if e.id in keep],
                         relations=[r for r in self.relations if r.subject in keep and r.object in keep])

    def to_json(self) -> dict[str, Any]:
        """Nodes and edges for a network view (the dashboard's shape: ``id``/``label``/``group``, ``from``/``to``)."""
        nodes = [{"id": e.id, "label": e.name, "group": e.type, "aliases": e.aliases} for e in self.entities]
        edges = [{"id": r.id, "from": r.subject, "to": r.object, "label": r.predicate, "sources": r.sources}
                 for r in self.relations]
        return {"nodes": nodes, "edges": edges}


class GraphPath(BaseModel):
    """A path between two entities: the entities along it and the relation taken at each hop."""

    entities: list[Entity]
    relations: list[Relation]

    def text(self) -> str:
        """The path as one line, arrows showing each relation's direction.

        Example:
            >>> a, b = Entity(id="a", name="Ana"), Entity(id="b", name="Acme")
            >>> GraphPath(entities=[a, b], relations=[Relation(id="r", subject="a", predicate="works_at",
            ...           object="b")]).text()
            'Ana -works_at-> Acme'
        """
        parts = [self.entities[0].name]
        for rel, here, nxt in zip(self.relations, self.entities, self.entities[1:], strict=False):
            arrow = f" -{rel.predicate}-> " if rel.subject == here.id else f" <-{rel.predicate}- "
            parts += [arrow, nxt.name]
        return "".join(parts)


def _label(entity: Entity) -> str:
    return entity.name if entity.type == GENERIC_TYPE else f"{entity.name} ({entity.type})"


__all__ = ["GENERIC_TYPE", "Entity", "ExtractedEntity", "ExtractedRelation", "GraphExtraction", "GraphPath",
           "GraphView", "MergeReport", "Relation"]
