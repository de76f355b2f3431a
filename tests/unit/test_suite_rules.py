"""Rules the test suite keeps about itself, checked so that they stay kept.

A test that skips when one of our own modules fails to import hides the failure it should report:
``pytest.importorskip`` is for third-party optional packages (llama_cpp, ray, pyarrow) only.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _importorskip_targets(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "importorskip" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_test_skips_when_our_own_module_fails_to_import() -> None:
    offenders = [f"{path.relative_to(TESTS)}:{line} importorskip({name!r})"
                 for path in sorted(TESTS.rglob("*.py"))
                 for line, name in _importorskip_targets(path)
                 if name == "tinytroupe" or name.startswith("tinytroupe.")]
    assert offenders == [], "import our own modules plainly, so a broken one fails:\n" + "\n".join(offenders)


def test_the_rule_sees_importorskip_calls() -> None:
    # Guards the checker itself: the integration tests do skip on third-party packages.
    names = {name for path in TESTS.rglob("*.py") for _, name in _importorskip_targets(path)}
    assert "llama_cpp" in names
