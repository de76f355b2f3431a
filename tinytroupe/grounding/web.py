"""Fetching a web page as text for a document store (TinyTroupe's ``web_urls``).

One ``GET`` with ``httpx``, a timeout and a size bound (:data:`MAX_PAGE_BYTES`, read as it
streams: a bigger page is refused, not cut), then :func:`~tinytroupe.grounding.text.html_to_text`
for HTML (plain text is kept as is). Only ``http`` and ``https`` URLs. Every failure is a
:class:`~tinytroupe.errors.DocumentError` naming the URL.

Example:
    >>> fetch_page("ftp://example.org/a.txt")
    Traceback (most recent call last):
    ...
    tinytroupe.errors.DocumentError: ftp://example.org/a.txt: only http and https pages can be read
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from tinytroupe.errors import DocumentError
from tinytroupe.grounding.text import html_to_text

#: largest page read (bytes)
MAX_PAGE_BYTES = 5 * 1024 * 1024
#: seconds one fetch may take
FETCH_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class WebPage:
    """A fetched page: its title (HTML only) and text."""

    url: str
    title: str
    text: str


def fetch_page(url: str, *, timeout: float = FETCH_TIMEOUT_S, max_bytes: int = MAX_PAGE_BYTES) -> WebPage:
    """The text of the page at ``url``.

    Raises:
        DocumentError: not an http(s) URL, unreachable, an error status, bigger than ``max_bytes``,
            not text, or holding no text (the message names the URL).
    """
    if urlparse(url).scheme not in ("http", "https"):
        raise DocumentError("only http and https pages can be read", path=url)
    import httpx  # imported here: only agents that read the web pay for it

    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client, client.stream("GET", url) as response:
            response.raise_for_status()
            body = bytearray()
            for part in response.iter_bytes():
                body += part
                if len(body) > max_bytes:
                    raise DocumentError(f"the page is larger than {max_bytes:,} bytes", path=url)
            kind = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
            encoding = response.encoding or "utf-8"
    except httpx.HTTPError as exc:
        raise DocumentError(f"could not fetch the page ({type(exc).__name__}: {exc})", path=url) from exc
    if not (kind.startswith("text/") or kind in ("application/xhtml+xml", "application/json")):
        raise DocumentError(f"the page is {kind}, not text", path=url)
    raw = bytes(body).decode(encoding, errors="replace")
    title, text = html_to_text(raw) if "html" in kind else ("", raw)
    if not text.strip():
        raise DocumentError("the page holds no text", path=url)
    return WebPage(url=url, title=title or url, text=text)


__all__ = ["FETCH_TIMEOUT_S", "MAX_PAGE_BYTES", "WebPage", "fetch_page"]
