"""The example notebooks (``examples/notebooks``) run, offline, top to bottom in a real Jupyter kernel.

Each is executed with nbclient on the ``python3`` kernel that ipykernel provides for this
interpreter (the ``dev`` extra installs both). A notebook's own cells assert what it shows. Marked
integration: each starts a kernel process (a few seconds each).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))


def test_there_is_a_notebook_per_major_feature() -> None:
    assert [p.stem for p in NOTEBOOKS] == ["agents_and_worlds", "focus_group_extraction",
                                           "populations_distributions_validation", "tools"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_offline(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel imports this checkout's tinytroupe, installed or not.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    book = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), \
        "commit notebooks without outputs (they are produced here)"
    nbclient.NotebookClient(book, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [out for cell in book.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in shown if out.output_type == "error"]
    # the last cell's value is a rich view of an agent, a world or results
    last = book.cells[-1].outputs
    assert any("text/html" in out.get("data", {}) for out in last), [out.get("data", {}).keys() for out in last]
