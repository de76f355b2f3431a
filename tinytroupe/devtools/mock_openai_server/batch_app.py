"""The mock server's ``/v1/files`` and ``/v1/batches`` endpoints: upload a JSONL file, create a batch,
poll it, download its output and error files, cancel it.

A batch is worked on by a task of the server's event loop, whether or not anyone polls it (as a real
provider does: a client killed while it waits has still paid). After ``batch_latency_s`` every line is
answered by the same code as ``/v1/chat/completions`` (scripted replies, ``reply_fn``, an example of
the requested schema), except the lines ``batch_fail_when`` fails and, with ``batch_expire_after=N``,
every line after the first N (the batch then ends ``expired``). A batch whose lines do not all name its
endpoint as their ``url`` fails validation (``url_mismatch``), as a provider's does.

:class:`BatchEndpoints` serves OpenAI's spelling under ``/v1``; its subclass in :mod:`.azure_batch_app`
serves Azure's under ``/openai`` with the same state, so both count the same requests.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tinytroupe.devtools.mock_openai_server.batches import expired_line, output_line, parse_multipart
from tinytroupe.devtools.mock_openai_server.replies import RecordedRequest
from tinytroupe.devtools.mock_openai_server.state import _State

ChatAnswer = Callable[[dict[str, Any], None], Awaitable[tuple[int, dict[str, Any]]]]


class _Answers(Protocol):
    async def chat_answer(self, body: dict[str, Any], pre: None) -> tuple[int, dict[str, Any]]: ...


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": None,
                                   "code": code}}, status_code=status)


class BatchEndpoints:
    """The file and batch endpoints of one app; lines are answered by ``answers.chat_answer``."""

    #: where the endpoints are, the one endpoint a batch may name, and the status of an uploaded file
    prefix = "/v1"
    chat_endpoint = "/v1/chat/completions"
    upload_status = "processed"
    #: whether a batch names an error file even when no line failed (Azure's do, an empty one)
    always_error_file = False

    def __init__(self, state: _State, answers: _Answers) -> None:
        self.state = state
        self.files = state.batch
        self.answers = answers
        self._tasks: set[asyncio.Task[None]] = set()

    def route(self, app: FastAPI) -> None:
        app.post(f"{self.prefix}/files")(self.upload)
        app.get(f"{self.prefix}/files/{{file_id}}")(self.file)
        app.get(f"{self.prefix}/files/{{file_id}}/content")(self.content)
        app.post(f"{self.prefix}/batches")(self.create)
        app.get(f"{self.prefix}/batches/{{batch_id}}")(self.retrieve)
        app.post(f"{self.prefix}/batches/{{batch_id}}/cancel")(self.cancel)

    def _record(self, request: Request, path: str, body: dict[str, Any]) -> JSONResponse | None:
        """Record the request (``path`` under this dialect's prefix) and check it (None: go on)."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self.state.lock:
            self.state.requests.append(RecordedRequest(path=self.prefix + path, body=body, headers=headers,
                                                       client_port=request.client.port if request.client else None))
        return self._denied(request)

    def _denied(self, request: Request) -> JSONResponse | None:
        """The answer to a request without the right key (None: go on)."""
        if self.state.api_key is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if given != self.state.api_key:
                return _error(401, "Incorrect API key provided", code="invalid_api_key")
        return None

    async def upload(self, request: Request) -> Any:
        parts = parse_multipart(request.headers.get("content-type", ""), await request.body())
        purpose = parts.get("purpose", (None, b""))[1].decode("utf-8", "replace")
        denied = self._record(request, "/files", {"purpose": purpose})
        if denied is not None:
            return denied
        if "file" not in parts:
            return _error(400, "the upload needs a 'file' part (multipart/form-data)")
        if purpose != "batch":
            return _error(400, f"this mock server stores files of purpose 'batch' only, got {purpose!r}")
        filename, data = parts["file"]
        return self.files.add_file(data, filename or "upload.jsonl", purpose, self.upload_status)

    async def file(self, request: Request, file_id: str) -> Any:
        denied = self._record(request, "/files/{id}", {"file_id": file_id})
        found = self.files.file(file_id)
        return denied or found or _error(404, f"No such File object: {file_id}")

    async def content(self, request: Request, file_id: str) -> Any:
        denied = self._record(request, "/files/{id}/content", {"file_id": file_id})
        if denied is not None:
            return denied
        data = self.files.content(file_id)
        if data is None:
            return _error(404, f"No such File object: {file_id}")
        return Response(content=data, media_type="application/jsonl")

    async def create(self, request: Request) -> Any:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        denied = self._record(request, "/batches", body)
        if denied is not None:
            return denied
        file_id = str(body.get("input_file_id", ""))
        meta = self.files.file(file_id)
        if meta is None:
            return _error(404, f"No such File object: {file_id}")
        if meta.get("status") != "processed":
            return _error(400, f"the file {file_id} is still {meta.get('status')!r}: wait until it is 'processed'")
        if body.get("endpoint") != self.chat_endpoint:
            return _error(400, f"this mock server batches {self.chat_endpoint} only, got {body.get('endpoint')!r}")
        if body.get("completion_window") != "24h":
            return _error(400, "completion_window must be '24h'")
        batch = self.files.create_batch(file_id, body["endpoint"], "24h", body.get("metadata"))
        task = asyncio.get_running_loop().create_task(self._work(batch["id"], file_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return self._created(batch)

    def _created(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The batch object a create answers with."""
        return batch

    async def retrieve(self, request: Request, batch_id: str) -> Any:
        denied = self._record(request, "/batches/{id}", {"batch_id": batch_id})
        return denied or self.files.batch(batch_id) or _error(404, f"No such Batch object: {batch_id}")

    async def cancel(self, request: Request, batch_id: str) -> Any:
        denied = self._record(request, "/batches/{id}/cancel", {"batch_id": batch_id})
        return denied or self.files.cancel(batch_id) or _error(404, f"No such Batch object: {batch_id}")

    async def _wait(self, seconds: float) -> bool:
        """Wait ``seconds`` in short sleeps; True when the server is stopping."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.state.stopping.is_set():
                return True
            await asyncio.sleep(min(left, 0.05))
        return self.state.stopping.is_set()

    def _line_problem(self, lines: list[Any]) -> str:
        """``"code: message"`` saying why these input lines fail validation, or ``""``."""
        if not all(isinstance(x, dict) and isinstance(x.get("body"), dict) and x.get("custom_id") for x in lines):
            return "invalid_request: every line needs a custom_id and a JSON body"
        urls = sorted({str(x.get("url")) for x in lines} - {self.chat_endpoint})
        if urls:
            return f"url_mismatch: every line's url must be the batch's endpoint {self.chat_endpoint}, got {urls[0]}"
        return ""

    async def _work(self, batch_id: str, file_id: str) -> None:
        """Run one batch: validate its lines, wait the latency, answer them, write the output files."""
        data = self.files.content(file_id) or b""
        try:
            lines = [json.loads(t) for t in data.decode("utf-8").splitlines() if t.strip()]
        except ValueError as exc:
            lines, problem = [], f"invalid_json_line: {exc}"
        else:
            problem = self._line_problem(lines)
        if problem:
            code, _, message = problem.partition(": ")
            self.files.update(batch_id, status="failed", failed_at=int(time.time()),
                              errors={"object": "list", "data": [{"code": code, "message": message}]})
            return
        self.files.update(batch_id, status="in_progress", in_progress_at=int(time.time()),
                          request_counts={"total": len(lines), "completed": 0, "failed": 0})
        if await self._wait(self.files.latency_s):
            return
        out: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        limit = self.files.expire_after
        cancelled = (self.files.batch(batch_id) or {}).get("status") == "cancelling"
        for number, line in enumerate(lines, 1):
            custom_id, body = str(line["custom_id"]), line["body"]
            if cancelled:
                break
            if limit is not None and len(out) + len(errors) >= limit:
                errors.append(expired_line(custom_id, number))
                continue
            failing = self.files.fail_when(body) if self.files.fail_when is not None else None
            if failing is not None:
                errors.append(output_line(custom_id, failing, {"error": {
                    "message": f"the mock server failed this request (HTTP {failing})",
                    "type": "server_error" if failing >= 500 else "invalid_request_error",
                    "param": None, "code": None}}, number))
                continue
            status, answer = await self.answers.chat_answer(body, None)
            (out if status == 200 else errors).append(output_line(custom_id, status, answer, number))
        self._finish(batch_id, out, errors, len(lines), cancelled=cancelled)

    def _finish(self, batch_id: str, out: list[dict[str, Any]], errors: list[dict[str, Any]], total: int,
                *, cancelled: bool) -> None:
        now = int(time.time())
        changes: dict[str, Any] = {"finalizing_at": now, "request_counts": {
            "total": total, "completed": len(out), "failed": len(errors)}}
        for key, lines in (("output_file_id", out), ("error_file_id", errors)):
            if lines or (key == "error_file_id" and self.always_error_file):
                text = "".join(json.dumps(x) + "\n" for x in lines).encode("utf-8")
                changes[key] = self.files.add_file(text, f"{batch_id}_{key}.jsonl", "batch_output")["id"]
        expired = any((e.get("error") or {}).get("code") == "batch_expired" for e in errors)
        if cancelled:
            changes.update(status="cancelled", cancelled_at=now)
        elif expired:
            changes.update(status="expired", expired_at=now)
        else:
            changes.update(status="completed", completed_at=now)
        self.files.update(batch_id, **changes)


__all__ = ["BatchEndpoints", "ChatAnswer"]
