"""Bounded YAML: a loader that refuses duplicate keys, tags beyond plain data and timestamps, recursive
aliases and non-finite numbers, and counts values with every alias expanded (the "billion laughs").
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from tinytroupe.safe_load.limits import InputProblem, Limits
from tinytroupe.safe_load.text import _check_length, _line_col, _line_col_bytes
from tinytroupe.safe_load.tree import non_finite_message

try:  # libyaml parses several times faster than the pure-Python parser; both give the same events
    from yaml._yaml import CParser as _EventParser

    _LIBYAML = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _LIBYAML = False


_TAG = "tag:yaml.org,2002:"
# The plain JSON-like kinds plus timestamps (scenarios hold dates); !!binary, !!set, !!omap and
# !!pairs build bytes, sets and tuples that nothing downstream can store or validate.
_ALLOWED_TAGS = frozenset(_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map",
                                             "merge"))

class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that we refuse: past a limit, a duplicate key, an odd tag, an unreadable value."""


# The Python composer on top of libyaml's events: composition is where the bounds are enforced.
_Bases: tuple[type, ...] = (Composer, _EventParser, SafeConstructor, Resolver) if _LIBYAML else (yaml.SafeLoader,)


class _BoundedLoader(*_Bases):  # type: ignore[misc]
    """SafeLoader that counts depth, items, text length and aliases as it composes, refuses
    duplicate keys, odd tags, huge integers and non-finite numbers as it constructs."""

    def __init__(self, text: str, limits: Limits) -> None:
        if _LIBYAML:
            _EventParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
        else:  # pragma: no cover
            yaml.SafeLoader.__init__(self, text)
        self.limits = limits
        self._depth = 0
        self._nodes = 0
        self.aliases_used = 0
        # Own (unmerged) key/value pairs of each mapping, taken before merge keys are flattened in:
        # a key repeated through "<<" is an override on purpose, one repeated by hand is a mistake.
        self._own_pairs: dict[int, list[tuple[Node, Node]]] = {}

    def _fail(self, problem: str, mark: Any) -> None:
        raise _Refused(None, None, problem, mark)

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            self.aliases_used += 1
            if self.aliases_used > self.limits.max_aliases:
                self._fail(f"more than {self.limits.max_aliases} aliases (*name)", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self.limits.max_depth:
            self._fail(f"nested more than {self.limits.max_depth} levels deep; no real scenario needs that many",
                       self.peek_event().start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._nodes += 1
        if self._nodes > self.limits.max_nodes:
            self._fail(f"more than {self.limits.max_nodes:,} values in one file", node.start_mark if node else None)
        if isinstance(node, ScalarNode) and len(node.value) > self.limits.max_string:
            self._fail(f"a text of {len(node.value):,} characters; the limit is {self.limits.max_string:,}",
                       node.start_mark)
        if isinstance(node, SequenceNode | MappingNode) and len(node.value) > self.limits.max_items:
            kind = "list" if isinstance(node, SequenceNode) else "mapping"
            self._fail(f"{len(node.value):,} items in one {kind}; the limit is {self.limits.max_items:,}",
                       node.start_mark)
        return node

    def flatten_mapping(self, node: MappingNode) -> None:
        if id(node) not in self._own_pairs:
            self._own_pairs[id(node)] = [(k, v) for k, v in node.value if k.tag != _TAG + "merge"]
        super().flatten_mapping(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            self.flatten_mapping(node)
        first: dict[Any, int] = {}
        own = self._own_pairs.get(id(node))
        for key_node, _ in own if own is not None else list(node.value):
            key = self.construct_object(key_node, deep=True)
            try:
                seen = first.get(key)
            except TypeError:  # unhashable: the base constructor reports it with its mark
                continue
            line = key_node.start_mark.line + 1
            if seen is not None:
                raise _Refused(None, None, f"duplicate key {_short(key)} (lines {seen} and {line}); "
                                       "YAML keeps only the last, so keep the one you mean", key_node.start_mark)
            first[key] = line
        return super().construct_mapping(node, deep)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node.tag not in _ALLOWED_TAGS:
            raise _Refused(None, None, f"the YAML tag {node.tag!r} is not supported here; write plain "
                                   "text, numbers, lists and mappings", node.start_mark)
        if (isinstance(node, ScalarNode) and node.tag == _TAG + "int"
                and sum(c.isdigit() for c in node.value) > self.limits.max_int_digits):
            raise _Refused(None, None, f"an integer with more than {self.limits.max_int_digits} digits",
                                   node.start_mark)
        try:
            data = super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # any constructor failure (a bad date, say) becomes a located one
            kind = node.tag.removeprefix(_TAG)
            why = f": {exc}" if isinstance(exc, ValueError | OverflowError) else ""
            raise _Refused(None, None, f"cannot read this value as a {kind}{why}", node.start_mark) from None
        if isinstance(data, float) and not math.isfinite(data):
            raise _Refused(None, None, non_finite_message(data), node.start_mark)
        return data


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _expanded(root: Node, limits: Limits) -> None:
    """Refuse a node graph whose aliases expand past ``limits`` or loop back into themselves."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]

    def children(node: Node) -> list[Node]:
        if isinstance(node, SequenceNode):
            return list(node.value)
        if isinstance(node, MappingNode):
            return [n for pair in node.value for n in pair]
        return []

    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            kids = children(node)
            sizes[nid] = 1 + sum(sizes[id(k)] for k in kids)
            depths[nid] = 1 + max((depths[id(k)] for k in kids), default=0)
            if sizes[nid] > limits.max_nodes:
                raise _Refused(
                    None, None, f"with its aliases expanded, this stands for more than {limits.max_nodes:,} values "
                    "(each alias repeats its anchor's whole content); use fewer or smaller aliases", node.start_mark)
            if depths[nid] > limits.max_depth:
                raise _Refused(
                    None, None, f"with its aliases expanded, this nests more than {limits.max_depth} levels deep",
                    node.start_mark)
            continue
        if nid in sizes:
            continue
        on_path.add(nid)
        stack.append((node, True))
        for kid in children(node):
            if id(kid) in on_path:
                raise _Refused(
                    None, None, "an alias refers to a node that contains it, so it would never end", kid.start_mark)
            if id(kid) not in sizes:
                stack.append((kid, False))


def load_yaml(text: str, limits: Limits) -> tuple[Any, Node | None]:
    """Parse one YAML document within ``limits``: ``(data, root node)``; the node graph gives lines.

    Raises:
        InputProblem: a syntax error, a duplicate key, an unsupported tag, a value that cannot be
            read, or nesting, sizes or alias expansion past the limits; always with the line.
    """
    _check_length(text, limits)
    loader = _BoundedLoader(text, limits)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        if loader.aliases_used:  # without aliases, composing counted every value and level already
            _expanded(root, limits)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problem = exc.problem or exc.context or "unreadable YAML"
        if exc.problem and exc.context:
            where = f" from line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
            problem = f"{exc.problem} ({exc.context}{where})"
        if not isinstance(exc, _Refused):
            problem = f"not valid YAML: {problem}"
        raise InputProblem(problem, line=line, column=column) from None
    except yaml.reader.ReaderError as exc:
        # libyaml counts the position in UTF-8 bytes, the Python reader in characters.
        position = max(exc.position, 0)
        line, column = (_line_col_bytes(text.encode("utf-8", "surrogatepass"), position) if _LIBYAML
                        else _line_col(text, position))
        raise InputProblem(f"not valid YAML: {exc.reason} (character {exc.character!r} at line {line}, "
                           f"column {column})", line=line, column=column) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above carries a mark or position
        raise InputProblem(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, root


def yaml_node_line(root: Node | None, loc: tuple[Any, ...] | list[Any]) -> int | None:
    """The 1-based line of the node at ``loc`` (keys and indexes) under ``root``, or of its nearest
    existing parent; None without a root.

    A mapping entry is located by its key, not its value: a nested value starts on the line after
    ``key:``, and the key is what the user has to fix (a misspelt field, a wrong value).

    Example:
        >>> _, root = load_yaml("a:\\n  - x\\n  - y\\nb: 1\\n", Limits(max_bytes=1000))
        >>> yaml_node_line(root, ("a", 1)), yaml_node_line(root, ("b",)), yaml_node_line(root, ("c",))
        (3, 4, 1)
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            entry = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if entry is None:
                break
            line = entry[0].start_mark.line + 1
            node = entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


__all__ = ["load_yaml", "yaml_node_line"]
