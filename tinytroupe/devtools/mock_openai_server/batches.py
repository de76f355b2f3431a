"""The mock server's Batch API: uploaded files, batches that complete after a delay (or expire part way),
and the count of requests completed, live or in a batch, so a test can see a request paid for twice.

Shapes follow OpenAI's Batch API (Azure's differs in small ways: :mod:`.azure_batch_app`): a JSONL
input file of ``{"custom_id", "method", "url", "body"}`` lines (purpose ``batch``; its ``status`` is
``processed``, or ``pending`` until an Azure client looks at it again), a batch object whose
``status`` goes ``validating`` → ``in_progress`` → ``completed`` (or ``expired``, ``cancelled``), an
output file of ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error":
null}`` lines and an error file with the lines that failed (``error.code == "batch_expired"`` for
those an expired batch never ran).

Example:
    >>> store = BatchFiles()
    >>> meta = store.add_file(b'{"custom_id": "a"}\\n', "in.jsonl", "batch")
    >>> meta["object"], meta["purpose"], meta["status"], store.content(meta["id"])
    ('file', 'batch', 'processed', b'{"custom_id": "a"}\\n')
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

#: batch statuses after which nothing changes any more
TERMINAL_STATUSES = frozenset({"completed", "expired", "failed", "cancelled"})

#: called with a batch line's request body; an HTTP status (e.g. 500) makes that line fail, None answers it
BatchFailFunction = Callable[[dict[str, Any]], int | None]


def body_digest(body: dict[str, Any]) -> str:
    """A short digest of a chat request body (the same request live or in a batch has the same digest)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def parse_multipart(content_type: str, data: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a ``multipart/form-data`` body: name -> (filename, bytes) (stdlib only, no python-multipart)."""
    message = BytesParser(policy=default_policy).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1") + data)
    parts: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        parts[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts


class BatchFiles:
    """Files and batches of one server, behind one lock; and the completions counted per request body."""

    def __init__(self, *, latency_s: float = 0.0, expire_after: int | None = None,
                 fail_when: BatchFailFunction | None = None) -> None:
        self.lock = threading.Lock()
        self.latency_s = latency_s
        #: complete only this many requests of each batch, then mark it expired (None: complete all)
        self.expire_after = expire_after
        self.fail_when = fail_when
        self.files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        # ids are unique across servers, as a provider's are: a run file that outlives one mock server
        # must not find its old batch's id given to a new batch by the next
        self._server_token = secrets.token_hex(3)
        #: how many times each request body was completed (live or in a batch)
        self.completed: dict[str, int] = {}
        self.batch_requests_completed = 0

    def new_id(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}-mock-{self._server_token}-{next(self._ids)}"

    def add_file(self, data: bytes, filename: str, purpose: str, status: str = "processed") -> dict[str, Any]:
        meta: dict[str, Any] = {"id": self.new_id("file"), "object": "file", "bytes": len(data),
                                "created_at": int(time.time()), "filename": filename, "purpose": purpose,
                                "status": status}
        with self.lock:
            self.files[meta["id"]] = (meta, data)
        return dict(meta)

    def file(self, file_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.files.get(file_id)
        return dict(found[0]) if found is not None else None

    def mark_processed(self, file_id: str) -> None:
        """A ``pending`` file becomes ``processed`` (usable by a batch)."""
        with self.lock:
            found = self.files.get(file_id)
            if found is not None:
                found[0]["status"] = "processed"

    def content(self, file_id: str) -> bytes | None:
        with self.lock:
            found = self.files.get(file_id)
        return found[1] if found is not None else None

    def count_completed(self, body: dict[str, Any], *, in_batch: bool) -> None:
        digest = body_digest(body)
        with self.lock:
            self.completed[digest] = self.completed.get(digest, 0) + 1
            if in_batch:
                self.batch_requests_completed += 1

    def create_batch(self, input_file_id: str, endpoint: str, window: str,
                     metadata: dict[str, Any] | None) -> dict[str, Any]:
        now = int(time.time())
        batch: dict[str, Any] = {"id": self.new_id("batch"), "object": "batch", "endpoint": endpoint, "errors": None,
                 "input_file_id": input_file_id, "completion_window": window, "status": "validating",
                 "output_file_id": None, "error_file_id": None, "created_at": now, "in_progress_at": None,
                 "expires_at": now + 24 * 3600, "finalizing_at": None, "completed_at": None, "failed_at": None,
                 "expired_at": None, "cancelling_at": None, "cancelled_at": None,
                 "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": metadata}
        with self.lock:
            self.batches[batch["id"]] = batch
        return json.loads(json.dumps(batch))

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.batches.get(batch_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def update(self, batch_id: str, **changes: Any) -> None:
        with self.lock:
            self.batches[batch_id].update(changes)

    def cancel(self, batch_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.batches.get(batch_id)
            if found is not None and found["status"] not in TERMINAL_STATUSES:
                found["status"] = "cancelling"
                found["cancelling_at"] = int(time.time())
        return self.batch(batch_id)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            statuses: dict[str, int] = {}
            for b in self.batches.values():
                statuses[b["status"]] = statuses.get(b["status"], 0) + 1
            return {"batches": statuses, "batch_requests_completed": self.batch_requests_completed,
                    "completed_twice": sum(c - 1 for c in self.completed.values() if c > 1)}


def output_line(custom_id: str, status: int, body: dict[str, Any], number: int) -> dict[str, Any]:
    """One line of an output (or error) file for a request the server answered with ``status``."""
    return {"id": f"batch_req_mock_{number}", "custom_id": custom_id,
            "response": {"status_code": status, "request_id": f"req_mock_{number}", "body": body}, "error": None}


def expired_line(custom_id: str, number: int) -> dict[str, Any]:
    """The error-file line of a request an expired batch never ran."""
    return {"id": f"batch_req_mock_{number}", "custom_id": custom_id, "response": None,
            "error": {"code": "batch_expired",
                      "message": "This request could not be executed before the completion window expired."}}


__all__ = ["TERMINAL_STATUSES", "BatchFailFunction", "BatchFiles", "body_digest", "expired_line", "output_line",
           "parse_multipart"]
