"""Tools for developing and testing with tinytroupe: stand-ins for real services.

Public names (import from the submodules, which pull in fastapi and uvicorn only when used):
``tinytroupe.devtools.mock_openai_server``: MockOpenAIServer (in-process, on 127.0.0.1),
spawn_mock_server (in a child process), MockFailure and FAULT_KINDS (the faults it can inject: HTTP
errors, 429 with Retry-After, delays, dropped connections, bodies cut off in transit, non-JSON bodies,
cut-off or invalid answers), corrupt_content, requested_schema, example_for_schema, RecordedRequest,
create_app. ``python -m tinytroupe.devtools.mock_openai_server --help`` runs it from the shell.
"""
