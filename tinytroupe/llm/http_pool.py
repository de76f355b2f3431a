"""JSON over HTTP with one pooled ``aiohttp`` session per event loop: the chat backend's transport.

A persona study sends thousands of small requests at high concurrency, and on a small machine the
client's own CPU per request decides how close a run gets to what the server allows. Measured on
the two-core development machine against the mock server (0 ms latency, 64 in flight, the client's
own CPU from ``getrusage``): the ``openai`` SDK spends about 1.4-1.6 ms per call, a bare
``httpx.AsyncClient`` 1.1-3 ms, an ``aiohttp`` session with ``orjson`` 0.12 ms. So the chat path
posts plain JSON through :class:`HttpPool`; requests and answers are plain dicts.

Sessions belong to the event loop they were made on. A pool keeps one per loop, closes the running
loop's on :meth:`HttpPool.aclose`, and lets go of sessions whose loop has closed (the next time a
session is made, and at interpreter exit) without the "Unclosed client session" noise aiohttp
prints for sessions dropped open.

Failures come out as what :func:`tinytroupe.provider_errors.provider_error` knows: an HTTP error
status as :class:`HttpStatusError`, a timeout as ``TimeoutError``, a lost connection as an
``aiohttp.ClientError``, a body that is not JSON (cut off in transit) as ``ValueError``.

Example:
    >>> from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
    >>> import asyncio
    >>> async def ask(url: str) -> str:
    ...     pool = HttpPool(url, headers={"Authorization": "Bearer x"}, timeout=10)
    ...     try:
    ...         body = await pool.post_json("/chat/completions",
    ...                                     {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    ...     finally:
    ...         await pool.aclose()
    ...     return body["choices"][0]["message"]["content"]
    >>> with MockOpenAIServer(replies=["hello"]) as server:
    ...     asyncio.run(ask(server.base_url))
    'hello'
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tinytroupe.provider_errors import HttpStatusError

if TYPE_CHECKING:
    import aiohttp

#: the most connections one pool keeps open to its server (per event loop)
DEFAULT_MAX_CONNECTIONS = 256


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (orjson: several times faster than the json module)."""
    import orjson

    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits, which json writes
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON; a body that is not JSON (cut off in transit, garbled) raises ``ValueError``."""
    import orjson

    return orjson.loads(data)


# Every pool's sessions, so the ones left open can be let go of quietly at exit.
_pools: weakref.WeakSet[HttpPool] = weakref.WeakSet()
_atexit_lock = threading.Lock()
_atexit_registered = False


def _register_atexit() -> None:
    global _atexit_registered
    with _atexit_lock:
        if not _atexit_registered:
            # Registered on first use, after the sync portal registered its own shutdown: atexit runs
            # handlers last-in first-out, so sessions on the portal close while its loop still runs.
            atexit.register(close_all_pools)
            _atexit_registered = True


def close_all_pools(timeout: float = 2.0) -> None:
    """Close every pool's sessions from outside their loops (used at interpreter exit)."""
    for pool in list(_pools):
        pool.close_from_outside(timeout)


class HttpPool:
    """Pooled JSON POSTs to one server: one ``aiohttp`` session per event loop.

    Args:
        base_url: the server's URL; request paths are appended to it.
        headers: sent with every request (the key goes here; it is never logged).
        timeout: seconds for a whole request (connect, send, answer).
        max_connections: the most connections open at once per loop (0: no limit).
        params: query parameters sent with every request (Azure's ``api-version``).
    """

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 60.0,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 params: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_connections = max_connections
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        self._params = dict(params or {})
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._request_options: dict[str, Any] = {}  # proxy and netrc login, read when a session is made
        self._lock = threading.Lock()
        #: how many sessions this pool has made (one per event loop it ran on)
        self.sessions_created = 0
        _pools.add(self)
        # A backend dropped without aclose() (scripts rarely close clients) takes its sessions along
        # quietly: closed on their loop if it still runs, else let go of.
        weakref.finalize(self, _release_all, self._sessions)

    @staticmethod
    def warm_imports() -> None:
        """Import aiohttp and orjson now (about 0.1 s), so the first request does not do it in the loop."""
        import aiohttp  # noqa: F401
        import orjson  # noqa: F401

    def session(self) -> aiohttp.ClientSession:
        """The running loop's session (made now if it has none). Must be called from a coroutine."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._sessions.get(loop)
            if found is not None and not found.closed:
                return found
            self._let_go_of_closed_loops()
            made = self._sessions[loop] = self._new_session()
            self.sessions_created += 1
        _register_atexit()
        return made

    def _new_session(self) -> aiohttp.ClientSession:
        import aiohttp

        # No total timeout on the session: each request sets its own, so a changed timeout applies.
        connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=self.max_connections,
                                         ttl_dns_cache=300)
        self._request_options = self._environment_options()
        # trust_env off: with it on, aiohttp looks the proxy and the netrc file up again for every
        # request, each in a worker thread (two thread hops per call); _environment_options read
        # the same once per session.
        return aiohttp.ClientSession(connector=connector, headers=self._headers, skip_auto_headers=("User-Agent",),
                                     raise_for_status=False, auto_decompress=True, trust_env=False)

    def _environment_options(self) -> dict[str, Any]:
        """What ``trust_env`` would find for this server: a proxy from ``HTTP(S)_PROXY`` (unless
        ``NO_PROXY`` exempts the host) and, when no ``Authorization`` header is sent, a login from
        the netrc file."""
        from aiohttp.helpers import basicauth_from_netrc, get_env_proxy_for_url, netrc_from_env
        from yarl import URL

        url = URL(self.base_url)
        options: dict[str, Any] = {}
        with contextlib.suppress(LookupError):
            options["proxy"], proxy_auth = get_env_proxy_for_url(url)
            if proxy_auth is not None:
                options["proxy_headers"] = {"Proxy-Authorization": proxy_auth.encode()}
        if url.host is not None and not any(k.lower() == "authorization" for k in self._headers):
            with contextlib.suppress(LookupError):
                options["headers"] = {"Authorization": basicauth_from_netrc(netrc_from_env(), url.host).encode()}
        return options

    def _let_go_of_closed_loops(self) -> None:
        # Called with the lock held. A session of a closed loop cannot be awaited closed any more;
        # detaching marks it closed so it is dropped without aiohttp's unclosed-session report.
        for loop in [loop for loop in self._sessions if loop.is_closed()]:
            _detach(self._sessions.pop(loop))

    async def post_json(self, path: str, payload: Any, *, timeout: float | None = None) -> Any:
        """POST ``payload`` as JSON to ``base_url + path`` and return the parsed JSON answer.

        Raises:
            HttpStatusError: the server answered 4xx or 5xx.
            TimeoutError: no whole answer within ``timeout`` (default: the pool's) seconds.
            aiohttp.ClientError: the connection failed or dropped.
            ValueError: the answer is not JSON (cut off or garbled).
        """
        import aiohttp

        session = self.session()
        limit = aiohttp.ClientTimeout(total=timeout if timeout is not None else self.timeout)
        async with session.post(self.base_url + path, data=dumps(payload), params=self._params or None,
                                timeout=limit, **self._request_options) as response:
            data = await response.read()
            status = response.status
            if status >= 400:
                try:
                    body: Any = loads(data)
                except ValueError:
                    body = data.decode("utf-8", "replace")
                raise HttpStatusError(status, body, _headers(response))
        return loads(data)

    async def aclose(self) -> None:
        """Close the running loop's session; sessions of other loops are closed by their loop's end."""
        loop = asyncio.get_running_loop()
        with self._lock:
            session = self._sessions.pop(loop, None)
        if session is not None:
            await session.close()

    def close_from_outside(self, timeout: float = 2.0) -> None:
        """Close every session from a thread that runs none of their loops (at exit, or after a run)."""
        with self._lock:
            sessions, self._sessions = dict(self._sessions), {}
        for loop, session in sessions.items():
            if loop.is_running() and not _runs_here(loop):
                future = asyncio.run_coroutine_threadsafe(session.close(), loop)
                with contextlib.suppress(BaseException):
                    future.result(timeout)
                    continue
            _detach(session)

    def __repr__(self) -> str:
        return f"HttpPool({self.base_url!r}, sessions={len(self._sessions)})"


def _headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    # Lower-cased: the error table looks up "retry-after" and "retry-after-ms".
    return {key.lower(): value for key, value in response.headers.items()}


def _release_all(sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession]) -> None:
    for loop, session in list(sessions.items()):
        if not loop.is_closed() and loop.is_running():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
                loop.call_soon_threadsafe(_close_soon, session)
                continue
        _detach(session)
    sessions.clear()


def _close_soon(session: aiohttp.ClientSession) -> None:
    task = asyncio.get_running_loop().create_task(session.close())
    _closing.add(task)  # keep the task alive until it is done
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Task[None]] = set()


def _runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _detach(session: aiohttp.ClientSession) -> None:
    """Mark ``session`` closed without awaiting (its loop is gone or not ours to run)."""
    connector = session.connector
    with contextlib.suppress(Exception):
        session.detach()
    if connector is not None:
        # The connector's own close is a coroutine; its synchronous part only marks it closed (and
        # closes its sockets while the loop lives), which is all a dead loop allows.
        with contextlib.suppress(Exception):
            connector._close()


__all__ = ["DEFAULT_MAX_CONNECTIONS", "HttpPool", "HttpStatusError", "close_all_pools", "dumps", "loads"]
