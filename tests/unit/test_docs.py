"""The documentation runs: every module's docstring examples, and every Python block in the README
and docs/*.md, exactly as written.

The docs blocks run in a fresh interpreter in an empty folder on the scripted backend (selected the
way a user would, with ``TINYTROUPE_OPENAI__API_TYPE``), so they need no key, no model and no
network; the README's snippet also runs on the embedded model in
``tests/integration/test_readme_local.py``.
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tinytroupe

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(tinytroupe.__path__, "tinytroupe."))


def _python_blocks() -> list[tuple[str, int, str]]:
    blocks = []
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((f"{path.relative_to(ROOT)}:{line}", line, match.group(1)))
    return blocks


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in finder.find(module, module_name, globs=vars(module).copy()):
        if test.examples:
            runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)


def test_the_docs_have_python_examples() -> None:
    where = {label.split(":")[0] for label, _, _ in _python_blocks()}
    assert "README.md" in where and len(where) >= 3


@pytest.mark.parametrize("label,line,code", _python_blocks(), ids=[b[0] for b in _python_blocks()])
def test_docs_python_block_runs(label: str, line: int, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTROUPE_", "OPENAI_", "AZURE_"))}
    env["TINYTROUPE_OPENAI__API_TYPE"] = "scripted"
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, f"{label} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
