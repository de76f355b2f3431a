"""The dashboard's guard: every request needs the run's random token, comes from the dashboard's own
origin, and names the dashboard's own host; control actions need the token in a header.

:class:`Guard` is an ASGI middleware in front of the whole app, so nothing (page, script, style,
event stream, API, control) is served without it:

* **token**: ``?token=`` in the URL or the ``X-TinyTroupe-Token`` header, compared in constant time;
  control endpoints (``/api/control/...``) take it only from the header, only by ``POST`` with a JSON
  body: a page of another origin can neither set that header without the browser asking first (the
  preflight is refused) nor read the token. No cookie is ever set, so nothing is sent on its own.
* **origin**: a request whose ``Origin`` is not the dashboard's own, or that the browser marks as
  made by another site (``Sec-Fetch-Site``, except a top-level or frame navigation, which is how a
  notebook shows the page), is refused.
* **host**: bound to a loopback address, the ``Host`` header must name it (``127.0.0.1:PORT``,
  ``localhost:PORT``): a rebound DNS name pointing at 127.0.0.1 gets nothing.

Refusals are ``403`` with a JSON ``detail`` saying which rule. Every answer carries headers that keep
the token out of referrers and caches and the page in its own origin (a content security policy with
no inline script and no other host).

Example:
    >>> guard = Guard(None, token="s3cret", hosts={"127.0.0.1:8000"})
    >>> guard.refusal("GET", "/", "token=s3cret", {"host": "127.0.0.1:8000"}) is None
    True
    >>> guard.refusal("GET", "/", "", {"host": "127.0.0.1:8000"})
    'a valid token is required (the ?token= of the printed URL)'
    >>> guard.refusal("GET", "/", "token=s3cret", {"host": "127.0.0.1:8000", "origin": "http://evil.test"})
    'requests from another origin are refused'
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

TOKEN_HEADER = "x-tinytroupe-token"
CONTROL_PREFIX = "/api/control/"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: headers on every answer: no token in referrers, nothing cached, no sniffing, nothing from elsewhere
SECURITY_HEADERS = [
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     b"object-src 'none'; base-uri 'none'; form-action 'none'; "
     b"frame-ancestors 'self' http://localhost:* http://127.0.0.1:*"),
]


def new_token() -> str:
    """A fresh random token (32 bytes, URL-safe).

    Example:
        >>> len(new_token()) >= 40
        True
    """
    return secrets.token_urlsafe(32)


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The ``Host`` headers a dashboard bound to ``host``:``port`` accepts (None: any, for a non-loopback bind).

    Example:
        >>> sorted(allowed_hosts("127.0.0.1", 8000))[:2]
        ['127.0.0.1:8000', '[::1]:8000']
    """
    if host not in LOOPBACK:
        return None
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}


class Guard:
    """ASGI middleware enforcing the rules of the module on every HTTP request to ``app``."""

    def __init__(self, app: ASGIApp | None, *, token: str, hosts: set[str] | None) -> None:
        self.app = app
        self.token = token.encode()
        self.hosts = hosts

    def _token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token)

    def refusal(self, method: str, path: str, query: str, headers: dict[str, str]) -> str | None:
        """Why a request is refused (None: it passes)."""
        host = headers.get("host", "")
        if self.hosts is not None and host not in self.hosts:
            return f"host {host!r} is not this dashboard's (DNS rebinding protection)"
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return "requests from another origin are refused"
        site, mode = headers.get("sec-fetch-site"), headers.get("sec-fetch-mode")
        if site in ("cross-site", "same-site") and not (mode == "navigate" and method == "GET"):
            return "requests from another site are refused"
        if path.startswith(CONTROL_PREFIX):
            if method != "POST":
                return "control actions are POST requests"
            if not self._token_ok(headers.get(TOKEN_HEADER)):
                return f"control actions need the token in the {TOKEN_HEADER} header"
            if not headers.get("content-type", "").startswith("application/json"):
                return "control actions take a JSON body (Content-Type: application/json)"
            return None
        given = headers.get(TOKEN_HEADER) or next(iter(parse_qs(query).get("token", [])), None)
        if not self._token_ok(given):
            return "a valid token is required (the ?token= of the printed URL)"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        reason = self.refusal(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
                              headers)
        if reason is not None:
            await _refuse(send, reason)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["CONTROL_PREFIX", "SECURITY_HEADERS", "TOKEN_HEADER", "Guard", "allowed_hosts", "new_token"]
