"""scripts/check_layout.py keeps the layout honest: the package passes it, and it catches what it promises
to catch (an import up the layer order, an import cycle, a module no layer covers, an oversized function
without a ``# layout:`` reason), run as CI runs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_layout.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def _long_function(name: str, marker: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(65))
    return f"def {name}() -> None:\n{marker}{body}"


def test_the_package_keeps_its_layout() -> None:
    proc = _run()
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "largest modules" in proc.stdout and "breaches: 0 layer, 0 cycle, 0 size" in proc.stdout


def test_a_clean_package_passes(tmp_path: Path) -> None:
    package = tmp_path / "tinytroupe"
    _write(package, {
        "__init__.py": "from tinytroupe.errors import Oops\n",
        "errors.py": "class Oops(Exception):\n    pass\n",
        "cli.py": "from tinytroupe.errors import Oops\n\n\ndef main() -> None:\n    raise Oops\n",
        "helpers.py": '"""Helpers."""\n\n# layout: a table of constants, one per line, reads best in one place\n'
                      + _long_function("table"),
    })
    _write(package / "agent", {"__init__.py": "", "person.py": _long_function("act", "    # layout: one recipe\n")})
    proc = _run("--root", str(package))
    assert proc.returncode == 1  # helpers.py has no layer
    assert "tinytroupe.helpers: no layer" in proc.stdout
    (package / "helpers.py").unlink()
    proc = _run("--root", str(package))
    assert proc.returncode == 0, proc.stdout
    assert "1 over a limit with a '# layout:' reason" in proc.stdout


def test_a_synthetic_breach_of_each_kind_is_caught(tmp_path: Path) -> None:
    package = tmp_path / "tinytroupe"
    _write(package, {
        "__init__.py": "",
        # infrastructure importing an application: up the layer order
        "errors.py": "from tinytroupe.cli import main\n",
        "cli.py": "def main() -> None:\n    pass\n",
        # a cycle between two infrastructure modules, one side hidden in a function
        "events.py": "from tinytroupe import lazy\n",
        "lazy.py": "def f() -> None:\n    from tinytroupe.events import Event\n",
        # an import needed only by type checkers is no cycle
        "aio.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from tinytroupe.scope import S\n",
        "scope.py": "from tinytroupe import aio\n",
        "display.py": _long_function("render"),
    })
    proc = _run("--root", str(package))
    assert proc.returncode == 1
    out = proc.stdout
    assert "tinytroupe.errors (infrastructure) imports tinytroupe.cli (applications), a higher layer" in out
    assert "import cycle between tinytroupe.events, tinytroupe.lazy" in out
    assert "tinytroupe.aio" not in out.split("import cycle")[-1]
    assert "function tinytroupe.display.render has 66 lines (limit 60)" in out
    assert "breaches: 1 layer, 1 cycle, 1 size" in out


def test_the_architecture_map_names_every_module() -> None:
    """docs/architecture.md's module index is the one-hop map: every module is in it, and nothing gone."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    index = text[text.index("## Module index"):]
    modules = {p.relative_to(ROOT / "tinytroupe").as_posix() for p in (ROOT / "tinytroupe").rglob("*.py")
               if "__pycache__" not in p.parts}
    listed = {line.split("`")[1] for line in index.splitlines() if line.startswith("| `")}
    assert sorted(modules - listed) == [], "add these modules to the module index of docs/architecture.md"
    assert sorted(listed - modules) == [], "these modules of the index no longer exist"
