"""``python -m tinytroupe.devtools.mock_openai_server``: run the mock server from the shell."""

from tinytroupe.devtools.mock_openai_server.server import main

if __name__ == "__main__":
    main()
