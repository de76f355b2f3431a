"""Replay and resume of a recorded run, in real subprocesses (scripted backend: no model needed).

The script below is what a user's notebook would be: begin, build a world, run, end. Its backend
counts every paid call in a file (one line per call, written before the answer is returned), so
"no repeated paid calls" is checked from outside the process. ``KILL_AFTER`` makes the script
SIGKILL itself when that many calls are paid, mid-step (the next call never reaches the backend).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tinytroupe.storage.trace_store import Trace

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent('''
    import hashlib, json, os, signal, sys
    from datetime import datetime
    from tinytroupe import control
    from tinytroupe.agent import TinyPerson
    from tinytroupe.environment import TinyWorld
    from tinytroupe.llm import ScriptedBackend

    path, calls_file, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def reply(request):
        paid = open(calls_file).read().count("\\n") if os.path.exists(calls_file) else 0
        if kill_after and paid >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # a crash mid-step: no cleanup at all
        user = request.messages[-1].content
        with open(calls_file, "a") as fh:
            fh.write(hashlib.sha256(user.encode()).hexdigest() + "\\n")
            fh.flush()
        name = user.rsplit("Now act as ", 1)[-1].split(":", 1)[0]
        heard = user.count("said")
        return {"actions": [{"type": "TALK", "content": f"{name} heard {heard}", "target": ""},
                            {"type": "DONE"}],
                "cognitive_state": {"goals": "talk", "context": ["cafe"], "attention": "others",
                                    "emotions": "calm"}}

    # Inline (blocking=False): the kill then lands between two calls, as the counts below assume. In worker
    # threads a call could kill the process while another's answer is on its way to the cache, which
    # is then lost with the process (the resumed run pays for it once more).
    sim = control.begin(path, seed=7, auto_checkpoint=1, backend=ScriptedBackend(reply, blocking=False),
                        quiet=True)
    world = TinyWorld("Cafe", [TinyPerson(n) for n in ("Ana", "Ben", "Cai", "Dee")],
                      initial_datetime=datetime(2025, 1, 6, 9))
    world.make_everyone_accessible()
    world.broadcast("Welcome to the cafe", source="Host")
    world.run(4)
    result = {"resumed": sim.resumed, "hits": control.cache_hits(), "misses": control.cache_misses(),
              "resumed_from_step": sim.resumed_from.step if sim.resumed_from else None,
              "divergences": len(sim.divergences)}
    control.end()
    print(json.dumps(result))
''')


def _run(tmp: Path, run_file: Path, calls: Path, kill_after: int = 0) -> subprocess.CompletedProcess[str]:
    script = tmp / "notebook.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), str(run_file), str(calls), str(kill_after)],
                          capture_output=True, text=True, timeout=120, cwd=tmp)


def _paid(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def test_replay_of_a_recorded_run_makes_no_backend_calls_and_gives_the_same_trace(tmp_path: Path) -> None:
    run_file, calls = tmp_path / "run.sqlite", tmp_path / "calls.txt"
    first = _run(tmp_path, run_file, calls)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["misses"] == 16
    trace_first = Trace(run_file).canonical()
    assert len(_paid(calls)) == 16

    second = _run(tmp_path, run_file, calls)
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout.splitlines()[-1])
    assert out["misses"] == 0 and out["hits"] == 16 and out["divergences"] == 0
    assert len(_paid(calls)) == 16, "the replay reached the backend"
    assert Trace(run_file).canonical() == trace_first


def test_a_run_killed_mid_step_resumes_without_paying_twice_or_losing_events(tmp_path: Path) -> None:
    reference_file, reference_calls = tmp_path / "reference.sqlite", tmp_path / "reference.txt"
    ref = _run(tmp_path, reference_file, reference_calls)
    assert ref.returncode == 0, ref.stderr
    reference = Trace(reference_file).canonical()

    run_file, calls = tmp_path / "run.sqlite", tmp_path / "calls.txt"
    killed = _run(tmp_path, run_file, calls, kill_after=10)  # step 3 of 4, two of its four calls paid
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(_paid(calls)) == 10
    with Trace(run_file) as partial:
        assert partial.runs()[-1]["status"] == "running"  # never ended
        assert partial.summary()["steps"] == 2

    resumed = _run(tmp_path, run_file, calls)
    assert resumed.returncode == 0, resumed.stderr
    out = json.loads(resumed.stdout.splitlines()[-1])
    assert out["resumed"] is True and out["resumed_from_step"] == 2
    assert out["hits"] == 10 and out["misses"] == 6
    paid = _paid(calls)
    assert len(paid) == 16 and len(set(paid)) == 16, "a call completed before the crash was paid again"
    assert sorted(paid) == sorted(_paid(reference_calls))
    with Trace(run_file) as final:
        assert final.canonical() == reference
        assert final.runs()[-1]["status"] == "ended"


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_run_file_is_salvaged_and_the_rerun_pays_only_for_what_was_lost(tmp_path: Path,
                                                                                  damage: str) -> None:
    """As a new user would: run a study, damage its run file, run the same script again."""
    run_file, calls = tmp_path / "run.sqlite", tmp_path / "calls.txt"
    first = _run(tmp_path, run_file, calls)
    assert first.returncode == 0, first.stderr
    reference = Trace(run_file).canonical()
    data = bytearray(run_file.read_bytes())
    if damage == "truncate":
        del data[int(len(data) * 0.7):]
    else:
        page = 4096
        middle = len(data) // page // 2
        data[middle * page:(middle + 2) * page] = bytes(range(256)) * (2 * page // 256)
    run_file.write_bytes(bytes(data))

    again = _run(tmp_path, run_file, calls)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr and "was damaged" in again.stderr
    out = json.loads(again.stdout.splitlines()[-1])
    assert out["hits"] + out["misses"] == 16 and out["divergences"] == 0
    assert len(_paid(calls)) == 16 + out["misses"], "only the answers lost with the damage are paid again"
    assert list(tmp_path.glob("run.sqlite.damaged-*")), "the damaged file is kept aside"
    with Trace(run_file) as final:
        assert final.canonical() == reference
        assert final.runs()[-1]["status"] == "ended"
