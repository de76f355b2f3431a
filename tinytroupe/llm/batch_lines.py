"""The lines of a provider batch: which result lines refused their request's structured-output form, and
the form each such request is sent again in.

:class:`~tinytroupe.llm.batch.BatchWrapper` reads a finished batch's lines through these functions; the
choice of a fallback form is the backend's own (:class:`~tinytroupe.llm.openai_backend.OpenAIBackend`),
so a batch line and a live call refused alike end in the same form, and the backend remembers the
downgrade for later calls either way.

Example:
    >>> from tinytroupe.llm.openai_backend import OpenAIBackend
    >>> backend = OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", api_key="k")
    >>> refused = {"custom_id": "a", "response": {"status_code": 400, "body": {"error": {
    ...     "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported"}}}}
    >>> refused_forms([refused], {"a": "json_schema"}, backend), backend.structured_mode
    ({'a': 'json_object'}, 'json_object')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.provider_errors import HttpStatusError


def refused_forms(lines: list[dict[str, Any]], modes: Mapping[str, str | None],
                  backend: OpenAIBackend) -> dict[str, str]:
    """The requests (``custom_id -> the structured-output form it was sent in``) whose result line the
    server refused for that form, each with the form a live call falls back to.

    The backend decides as for a live call: only in ``auto``, only for a refusal status whose message
    names the form; it remembers the downgrade, and falls back for one request only when just that
    schema was refused (``invalid schema``).
    """
    found: dict[str, str] = {}
    for line in lines:
        key, response = line.get("custom_id"), line.get("response")
        if not isinstance(key, str) or key not in modes or key in found or not isinstance(response, dict):
            continue
        status = response.get("status_code")
        if not isinstance(status, int) or status == 200:
            continue
        form = backend._fallback(HttpStatusError(status, response.get("body")), modes[key])
        if form is not None:
            found[key] = form
    return found


__all__ = ["refused_forms"]
