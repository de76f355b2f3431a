#!/usr/bin/env python3
"""Check the package's layout: sizes of modules, classes and functions, and the layer order of imports.

Reports the largest modules, classes and functions, and fails (exit 1) on:

* an import that runs up the layer order (``LAYERS`` below, the table of ``docs/architecture.md``);
* a module no entry of ``LAYERS`` covers (so the table stays complete as packages are added);
* an import cycle between modules (function-local imports count: a cycle broken by moving an import
  into a function is still a cycle; imports under ``if TYPE_CHECKING:`` do not, they never run);
* a module over ``MODULE_LINES``, a class over ``CLASS_LINES`` or a function over ``FUNCTION_LINES``
  lines that does not say why with a marker comment ``# layout: <reason>``: for a module among the
  lines before its first statement after the docstring, for a class or function just above it
  (among its decorators and comments) or at the top of its body (before the first statement after
  its docstring).

Usage: ``python scripts/check_layout.py [--top N] [--root PATH]`` (``--root``: the package folder,
default ``tinytroupe`` beside this script's folder; its name is the package name).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MODULE_LINES = 400
CLASS_LINES = 300
FUNCTION_LINES = 60
MARKER = "# layout:"

#: layer of each package or module, lowest first; the longest matching prefix decides. A module
#: may import from its own layer and lower ones only. Keep in step with docs/architecture.md.
LAYER_NAMES = ("infrastructure", "grounding", "agent", "environment", "control", "built on worlds",
               "public API", "applications")
LAYERS: dict[str, str] = {
    # infrastructure
    "errors": "infrastructure", "lazy": "infrastructure", "aio": "infrastructure",
    "redaction": "infrastructure", "safe_load": "infrastructure", "terminal": "infrastructure",
    "provider_errors": "infrastructure", "config": "infrastructure", "compat": "infrastructure",
    "events": "infrastructure", "display": "infrastructure", "scope": "infrastructure",
    "context": "infrastructure", "gc_freeze": "infrastructure", "prompt_folder": "infrastructure",
    "html_views": "infrastructure",
    "storage": "infrastructure", "embeddings": "infrastructure", "llm": "infrastructure",
    "replay": "infrastructure",  # re-exports llm.replay at its earlier path
    "state": "infrastructure",  # the base of the state models
    # knowledge stores and retrieval
    "grounding": "grounding", "vision": "grounding",  # images: read, checked, described, remembered
    # one simulated person
    "agent": "agent", "tools": "agent", "examples": "agent",
    # worlds
    "environment": "environment",
    # runs worlds
    "control": "control",
    # built on worlds and agents
    "scenario": "built on worlds", "extraction": "built on worlds", "visualization": "built on worlds",
    "monitoring": "built on worlds", "steering": "built on worlds", "analysis": "built on worlds",
    "validation": "built on worlds", "experimentation": "built on worlds", "factory": "built on worlds",
    "enrichment": "built on worlds", "study": "built on worlds",  # study re-exports scenario.study
    # applications
    "cli": "applications", "doctor": "applications", "chat_session": "applications",
    "devtools": "applications", "dashboard": "applications",
}
#: the package's own __init__ re-exports the public API (worlds, agents, extraction, ...): above those
#: layers, below the applications, which may read it (the CLI shows ``tinytroupe.__version__``)
ROOT_LAYER = "public API"


@dataclass(frozen=True)
class Sized:
    kind: str  # module, class or function
    name: str  # dotted, e.g. tinytroupe.config.loader._Loader.read_file
    where: str  # path:line
    lines: int
    reason: str | None  # the "# layout:" marker's reason, if any

    @property
    def limit(self) -> int:
        return {"module": MODULE_LINES, "class": CLASS_LINES, "function": FUNCTION_LINES}[self.kind]


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    where: str
    runtime: bool  # False under `if TYPE_CHECKING:`


@dataclass
class Report:
    sized: list[Sized] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    modules: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


# -- reading the package --------------------------------------------------------------------------

def module_names(root: Path) -> dict[str, Path]:
    package = root.name
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join([package, *parts])] = path
    return names


def _marker(lines: list[str], start: int, stop: int) -> str | None:
    """The reason of a marker among lines[start:stop] (0-based), if one is there."""
    for line in lines[max(start, 0):stop]:
        text = line.strip()
        if text.startswith(MARKER):
            return text[len(MARKER):].strip() or None
    return None


def _first_statement(body: list[ast.stmt]) -> ast.stmt | None:
    """The first statement after a docstring (None when there is nothing else)."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return body[0] if body else None


def _definition_marker(lines: list[str], node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    top = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1  # 0-based first line
    above = top
    while above > 0 and lines[above - 1].strip().startswith("#"):
        above -= 1
    first = _first_statement(node.body)
    stop = first.lineno - 1 if first is not None else (node.end_lineno or node.lineno)
    return _marker(lines, above, stop)


def _sizes(name: str, path: Path, display: str, tree: ast.Module, lines: list[str]) -> Iterator[Sized]:
    first = _first_statement(tree.body)
    header_end = first.lineno - 1 if first is not None else len(lines)
    yield Sized("module", name, display, len(lines), _marker(lines, 0, header_end))

    def visit(node: ast.AST, prefix: str) -> Iterator[Sized]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                size = (child.end_lineno or child.lineno) - child.lineno + 1
                yield Sized(kind, f"{prefix}.{child.name}", f"{display}:{child.lineno}", size,
                            _definition_marker(lines, child))
                yield from visit(child, f"{prefix}.{child.name}")
            else:
                yield from visit(child, prefix)

    yield from visit(tree, name)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, display: str, tree: ast.Module, modules: dict[str, Path]) -> Iterator[Import]:
    package = name.split(".")[0]
    # A package's __init__ is its own base for relative imports; a module's base is its package.
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def visit(node: ast.AST, runtime: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from visit_one(stmt, False)
                for stmt in child.orelse:
                    yield from visit_one(stmt, runtime)
                continue
            yield from visit_one(child, runtime)

    def visit_one(node: ast.AST, runtime: bool) -> Iterator[Import]:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                origin = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # `from a.b import c` imports the module a.b.c when there is one, else a name from a.b
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                       for alias in node.names]
        for target in targets:
            if target == package or target.startswith(package + "."):
                resolved = resolve(target)
                if resolved is not None and resolved != name:
                    yield Import(name, resolved, f"{display}:{getattr(node, 'lineno', 0)}", runtime)
        if not isinstance(node, ast.Import | ast.ImportFrom):
            yield from visit(node, runtime)

    yield from visit(tree, True)


def read(root: Path) -> Report:
    report = Report(modules=module_names(root))
    for name, path in report.modules.items():
        display = str(path.relative_to(root.parent))
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, display)
        lines = text.splitlines()
        report.sized.extend(_sizes(name, path, display, tree, lines))
        report.imports.extend(_imports(name, path, display, tree, report.modules))
    return report


# -- the rules ------------------------------------------------------------------------------------

def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT_LAYER
    for size in range(len(parts) - 1, 0, -1):
        layer = LAYERS.get(".".join(parts[1:1 + size]))
        if layer is not None:
            return layer
    return None


def layer_problems(report: Report) -> list[str]:
    problems = [f"{name}: no layer; add it to LAYERS in scripts/check_layout.py and to docs/architecture.md"
                for name in report.modules if layer_of(name) is None]
    for imp in report.imports:
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is None or target is None:
            continue
        if LAYER_NAMES.index(target) > LAYER_NAMES.index(source):
            problems.append(f"{imp.where}: {imp.source} ({source}) imports {imp.target} ({target}), "
                            "a higher layer")
    return problems


def cycles(report: Report) -> list[list[str]]:
    """Strongly connected groups of modules (more than one) in the runtime import graph (Tarjan)."""
    graph: dict[str, set[str]] = {name: set() for name in report.modules}
    for imp in report.imports:
        if imp.runtime:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        # Recursion depth is bounded by the longest import chain, a few dozen modules.
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            connect(name)
    return found


def cycle_problems(report: Report) -> list[str]:
    problems = []
    for group in cycles(report):
        members = set(group)
        edges = [f"{imp.where} ({imp.source} -> {imp.target})" for imp in report.imports
                 if imp.runtime and imp.source in members and imp.target in members]
        problems.append(f"import cycle between {', '.join(group)}: " + "; ".join(edges))
    return problems


def size_problems(report: Report) -> list[str]:
    return [f"{s.where}: {s.kind} {s.name} has {s.lines} lines (limit {s.limit}); split it, or say why in a "
            f"'{MARKER} <reason>' comment at its top" for s in report.sized if s.lines > s.limit and not s.reason]


# -- output ---------------------------------------------------------------------------------------

def _table(title: str, items: list[Sized], top: int) -> list[str]:
    out = [f"largest {title} (limit {items[0].limit if items else '-'} lines):"]
    for s in sorted(items, key=lambda s: (-s.lines, s.name))[:top]:
        note = f"  [{MARKER} {s.reason}]" if s.reason else ("  OVER" if s.lines > s.limit else "")
        out.append(f"  {s.lines:5d}  {s.name}  ({s.where}){note}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1] / "tinytroupe")
    parser.add_argument("--top", type=int, default=10, help="how many of each kind to list")
    args = parser.parse_args(argv)
    report = read(args.root.resolve())
    out: list[str] = []
    for kind, title in (("module", "modules"), ("class", "classes"), ("function", "functions")):
        out += _table(title, [s for s in report.sized if s.kind == kind], args.top)
    problems = {"layer": layer_problems(report), "cycle": cycle_problems(report), "size": size_problems(report)}
    for kind, found in problems.items():
        if found:
            out.append(f"{kind} breaches:")
            out += [f"  {p}" for p in found]
    excused = [s for s in report.sized if s.lines > s.limit and s.reason]
    counts = ", ".join(f"{len(found)} {kind}" for kind, found in problems.items())
    out.append(f"check_layout: {len(report.modules)} modules, {len(report.imports)} internal imports; breaches: "
               f"{counts}; {len(excused)} over a limit with a '{MARKER}' reason")
    print("\n".join(out))
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
