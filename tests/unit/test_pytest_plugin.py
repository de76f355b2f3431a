"""The pytest plugin as a user's project meets it: the sample project (``tests/sample_project``) run by pytester.

Each test copies the sample project into pytester's folder and runs pytest there in this process,
with the plugin loaded by ``-p`` (next to the installed entry point it is loaded once). Cassettes
are recorded against the mock OpenAI server on 127.0.0.1 standing in for a real backend.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from tinytroupe.devtools.mock_llm import RECORD_MODES
from tinytroupe.devtools.mock_openai_server import MockOpenAIServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "sample_project"
PLUGIN = "tinytroupe_pytest"
REPLAY_TEST = "test_bottle_study.py::test_replays_a_recorded_answer"
SERVER_TURN = {"actions": [{"type": "TALK", "content": "A bottle that lights up? Fun, but pricey.", "target": ""},
                           {"type": "DONE", "content": "", "target": ""}],
               "cognitive_state": {"goals": "answer", "context": [], "attention": "the bottle", "emotions": "amused"}}
# What the sample project's conftest gains for recording: the "real" backend is the mock server.
RECORDING_CONFTEST = '''

@pytest.fixture
def mock_llm_real_backend():
    import os
    from tinytroupe.llm.openai_backend import OpenAIBackend
    return OpenAIBackend(model="mock-model", base_url=os.environ["SAMPLE_LLM_URL"], api_key="k", timeout=10)
'''


def _project(pytester: pytest.Pytester, *, without_cassettes: bool = False) -> Path:
    shutil.copytree(SAMPLE, pytester.path, dirs_exist_ok=True)
    if without_cassettes:
        shutil.rmtree(pytester.path / "cassettes")
    return pytester.path


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    if not (pytester.path / "pytest.ini").exists():  # as the sample project's: pytest-asyncio asks for it
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester.runpytest_inprocess("-p", PLUGIN, "-p", "no:cacheprovider", "-q", *args)


def test_the_sample_project_passes_on_the_mock(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = _run(pytester)
    result.assert_outcomes(passed=5)


def test_the_entry_point_names_the_plugin_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {PLUGIN: PLUGIN}
    plugin = __import__(PLUGIN)
    assert plugin.RECORD_CHOICES == RECORD_MODES


def test_collection_imports_nothing_of_tinytroupe(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # A suite that does not use the fixture pays nothing: the plugin alone does not import the library.
    # (The child finds this checkout's plugin first, installed or not.)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makepyfile(test_plain="""
        import sys

        def test_plain():
            assert not any(name == "tinytroupe" or name.startswith("tinytroupe.") for name in sys.modules)
    """)
    result = pytester.runpytest_subprocess("-p", PLUGIN, "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


def test_a_suite_without_the_fixture_runs_as_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        import pytest

        def test_ok():
            assert 1 + 1 == 2

        def test_fails():
            assert 1 + 1 == 3

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass
    """)
    with_plugin = _run(pytester)
    without = pytester.runpytest_inprocess("-p", f"no:{PLUGIN}", "-p", "no:cacheprovider", "-q")
    # (warnings are left out: a deprecation warning is shown once per process, in whichever run came first)
    outcomes = [{k: v for k, v in run.parseoutcomes().items() if k != "warnings"} for run in (with_plugin, without)]
    assert outcomes[0] == outcomes[1] == {"passed": 1, "failed": 1, "skipped": 1}


def test_a_cassette_miss_fails_the_test_naming_the_request(pytester: pytest.Pytester) -> None:
    _project(pytester, without_cassettes=True)
    result = _run(pytester, REPLAY_TEST)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*mock_llm could not answer every request*"])
    out = result.stdout.str()
    assert "purpose 'action', agent 'Ben', schema ActionTurn" in out
    assert "bottle that lights up" in out and "--mock-llm-record=new_episodes" in out


def test_a_cassette_is_recorded_against_a_server_and_replayed_without_it(pytester: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(pytester, without_cassettes=True)
    (project / "conftest.py").write_text((project / "conftest.py").read_text() + RECORDING_CONFTEST)
    with MockOpenAIServer(replies=[SERVER_TURN]) as server:
        monkeypatch.setenv("SAMPLE_LLM_URL", server.base_url)
        # the test itself asks for replay only (record="none"): the command line wins
        _run(pytester, REPLAY_TEST, "--mock-llm-record=once").assert_outcomes(passed=1)
        asked_server = len(server.requests)
    assert asked_server == 1
    tape = json.loads((project / "cassettes" / "reaction.json").read_text())
    [entry] = tape["entries"]
    assert (entry["purpose"], entry["agent"], entry["schema_name"]) == ("action", "Ben", "ActionTurn")
    assert json.loads(entry["answers"][0]["text"]) == SERVER_TURN
    assert "bottle that lights up" in entry["prompt"]
    # the server is gone: the replay answers from the cassette alone
    _run(pytester, REPLAY_TEST, "--mock-llm-record=none").assert_outcomes(passed=1)


def test_the_committed_cassette_is_the_servers_answer() -> None:
    # tests/sample_project/cassettes/reaction.json was recorded as in the test above
    tape = json.loads((SAMPLE / "cassettes" / "reaction.json").read_text())
    assert [json.loads(a["text"]) for e in tape["entries"] for a in e["answers"]] == [SERVER_TURN]


def test_strict_mode_fails_on_a_request_no_rule_answers(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makepyfile(test_strict="""
        import pytest
        from bottle_study import first_reaction

        @pytest.mark.mock_llm(strict=True)
        def test_no_rule(mock_llm):
            first_reaction("Ana", "Thirsty?")
    """)
    result = _run(pytester, "test_strict.py")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*no mock_llm rule answers the request of purpose 'action', agent 'Ana'*"])


def test_a_marker_with_an_unknown_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_marker="""
        import pytest

        @pytest.mark.mock_llm(sed=3)
        def test_typo(mock_llm):
            pass
    """)
    result = _run(pytester)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*mock_llm takes cassette, latency_s, record, seed, strict as keywords*sed*"])


def test_cassette_true_names_the_file_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_named="""
        import pytest

        @pytest.mark.mock_llm(cassette=True, record="none")
        def test_it(mock_llm):
            assert mock_llm.client.complete([{"role": "user", "content": "hi"}]).value == "hello"
    """)
    tape = pytester.path / "cassettes" / "test_named" / "test_it.json"
    tape.parent.mkdir(parents=True)
    from tinytroupe.devtools.mock_llm import Cassette
    from tinytroupe.llm.types import CallContext, Completion, LLMRequest, Message

    cassette = Cassette(tape)
    cassette.record(LLMRequest(messages=(Message(role="user", content="hi"),)), CallContext(),
                    Completion(text="hello", model="m"))
    cassette.save()
    _run(pytester).assert_outcomes(passed=1)


def test_the_plugin_lists_its_options(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--help")
    result.stdout.fnmatch_lines(["*--mock-llm-record*", "*--mock-llm-live*"])
    assert sys.modules.get(PLUGIN) is not None
