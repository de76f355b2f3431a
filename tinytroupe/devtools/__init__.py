"""Tools for developing and testing with tinytroupe: stand-ins for real services.

Public names (import from the submodules, which pull in fastapi and uvicorn only when used):
``tinytroupe.devtools.mock_openai_server``: MockOpenAIServer (in-process, on 127.0.0.1),
spawn_mock_server (in a child process), MockFailure and FAULT_KINDS (the faults it can inject: HTTP
errors, 429 with Retry-After, delays, dropped connections, bodies cut off in transit, non-JSON bodies,
cut-off or invalid answers), corrupt_content, requested_schema, example_for_schema, RecordedRequest,
create_app. ``python -m tinytroupe.devtools.mock_openai_server --help`` runs it from the shell.

Debugging (``docs/debugging.md``): ``tinytroupe.devtools.debugger``: Debugger (breakpoints, stepping by
turn or step, inspection, traced edits of a running world), Breakpoint, Pause, TurnRecord;
``tinytroupe.devtools.inspector``: RunFileInspector (a run file's agents, states at checkpoints,
memories, prompts and answers); ``tinytroupe.devtools.replay_runs``: replay_run_file, ReplayReport;
``tinytroupe.devtools.scenario_runs``: open_scenario (a scenario under the debugger, recorded in a run
file); ``tinytroupe.devtools.commands``: the ``debug``, ``inspect`` and ``replay`` CLI commands.
"""
