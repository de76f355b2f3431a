"""Images in the mock server's chat requests: content parts checked as OpenAI checks them, and reported.

A message's ``content`` may be a list of parts: ``{"type": "text", "text": ...}`` and ``{"type":
"image_url", "image_url": {"url": ..., "detail": ...}}``, where the URL is a ``data:image/...;base64,``
URL or an http(s) one and ``detail`` is ``auto``, ``low`` or ``high``. A request breaking that is
answered HTTP 400 naming the part, so tests see what a real server would refuse. What arrived is
reported by :meth:`RecordedRequest.images` (``server.requests``) and counted in ``/mock/stats``.

Example:
    >>> body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
    ...         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]}]}
    >>> content_problem(body) is None, [(i.mime, i.detail, i.size) for i in received_images(body)]
    (True, [('image/png', 'low', 8)])
    >>> text_of(body["messages"][0]["content"])
    'what is this?'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from pydantic import BaseModel

_DATA_URL = re.compile(r"^data:(image/[a-z+.-]+);base64,(.*)$", re.DOTALL)
DETAILS = ("auto", "low", "high")


class ReceivedImage(BaseModel):
    """One image part a chat request carried: in which message, its type, detail, size and hash
    (``mime`` and the rest are None for an http(s) URL, which the mock never fetches)."""

    message: int
    detail: str
    url: str | None = None
    mime: str | None = None
    size: int | None = None
    sha256: str | None = None


def text_of(content: Any) -> str:
    """The text of a message's content: itself when a string, its text parts joined when a list."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def _part_problem(part: Any, where: str) -> str | None:
    if not isinstance(part, dict) or part.get("type") not in ("text", "image_url"):
        return f"{where}: a content part must be an object of type 'text' or 'image_url'"
    if part["type"] == "text":
        return None if isinstance(part.get("text"), str) else f"{where}.text must be a string"
    image = part.get("image_url")
    if not isinstance(image, dict) or not isinstance(image.get("url"), str):
        return f"{where}.image_url.url must be a string"
    url = image["url"]
    if image.get("detail", "auto") not in DETAILS:
        return f"{where}.image_url.detail must be one of {', '.join(DETAILS)}"
    if url.startswith(("http://", "https://")):
        return None
    match = _DATA_URL.match(url)
    if match is None:
        return f"{where}.image_url.url must be an http(s) URL or a data:image/...;base64, URL"
    try:
        base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return f"{where}.image_url.url: the base64 data is invalid"
    return None


def content_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with the content parts of a chat request (None: nothing)."""
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        if message.get("role") not in ("user", "system"):
            return f"messages[{i}]: only user messages may carry image parts"
        for j, part in enumerate(content):
            problem = _part_problem(part, f"messages[{i}].content[{j}]")
            if problem is not None:
                return problem
    return None


def received_images(body: dict[str, Any]) -> list[ReceivedImage]:
    """The image parts of a chat request (a valid one: see :func:`content_problem`), in order."""
    found: list[ReceivedImage] = []
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            url = str(part["image_url"]["url"])
            detail = str(part["image_url"].get("detail", "auto"))
            match = _DATA_URL.match(url)
            if match is None:
                found.append(ReceivedImage(message=i, detail=detail, url=url))
                continue
            data = base64.b64decode(match.group(2))
            found.append(ReceivedImage(message=i, detail=detail, mime=match.group(1), size=len(data),
                                       sha256=hashlib.sha256(data).hexdigest()))
    return found


__all__ = ["DETAILS", "ReceivedImage", "content_problem", "received_images", "text_of"]
