"""The mock server's Azure OpenAI Batch API: ``/openai/files`` and ``/openai/batches`` as Azure's dated
data-plane API serves them, over the same files, batches and counts as the OpenAI-style ``/v1`` ones.

What differs from :class:`~.batch_app.BatchEndpoints`, as Azure documents it:

* every request needs the ``api-version`` query parameter (without it: HTTP 404 ``Resource not
  found``) and a key in the ``api-key`` header (or an ``Authorization: Bearer`` token); a missing key,
  or one other than the server's ``api_key`` when it has one, gets HTTP 401 ``Access denied``;
* lines and the batch name the endpoint ``/chat/completions``; every line's ``model`` is the
  deployment, the same on all lines (else the batch fails ``model_mismatch``);
* an uploaded file is ``pending`` until the client asks for it again (``GET /openai/files/{id}``),
  and a batch over a file that is not ``processed`` is refused;
* a created batch shows its status capitalised (``Validating``) and ``null`` request counts, and a
  finished one names an error file even when no line failed (an empty one).

Example:
    >>> AzureBatchEndpoints.prefix, AzureBatchEndpoints.chat_endpoint
    ('/openai', '/chat/completions')
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from tinytroupe.devtools.mock_openai_server.batch_app import BatchEndpoints

#: Azure's words for a request without a valid key
ACCESS_DENIED = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                 "valid key for an active subscription and use a correct regional API endpoint for your resource.")


def _azure_error(status: int, message: str) -> JSONResponse:
    # Azure's gateway errors carry the status as a string code and no type or param.
    return JSONResponse({"error": {"code": str(status), "message": message}}, status_code=status)


class AzureBatchEndpoints(BatchEndpoints):
    """The file and batch endpoints under ``/openai``, as Azure OpenAI serves them (see the module docstring)."""

    prefix = "/openai"
    chat_endpoint = "/chat/completions"
    upload_status = "pending"
    always_error_file = True

    def _denied(self, request: Request) -> JSONResponse | None:
        if not request.query_params.get("api-version"):
            return _azure_error(404, "Resource not found")
        given = (request.headers.get("api-key")
                 or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
        if not given or (self.state.api_key is not None and given != self.state.api_key):
            return _azure_error(401, ACCESS_DENIED)
        return None

    async def file(self, request: Request, file_id: str) -> Any:
        found = await super().file(request, file_id)
        if isinstance(found, dict):  # processing "finishes" by the time the client looks again
            self.files.mark_processed(file_id)
            found = dict(found, status="processed")
        return found

    def _created(self, batch: dict[str, Any]) -> dict[str, Any]:
        shown = dict(batch, status=str(batch["status"]).capitalize())
        shown["request_counts"] = {"total": None, "completed": None, "failed": None}
        return shown

    def _line_problem(self, lines: list[Any]) -> str:
        problem = super()._line_problem(lines)
        if problem:
            return problem
        models = {str(line["body"].get("model") or "") for line in lines}
        if "" in models:
            return "model_not_found: every line's body needs the deployment name as its model"
        if len(models) > 1:
            return (f"model_mismatch: the lines name {len(models)} deployments; a batch file must name one "
                    "(the same Global-Batch deployment on every line)")
        return ""


__all__ = ["ACCESS_DENIED", "AzureBatchEndpoints"]
