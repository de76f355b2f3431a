"""Tools for developing and testing with tinytroupe: stand-ins for real services.

Public names (import from the submodules, which pull in fastapi and uvicorn only when used):
``tinytroupe.devtools.mock_openai_server``: MockOpenAIServer, MockFailure, RecordedRequest, create_app.
"""
