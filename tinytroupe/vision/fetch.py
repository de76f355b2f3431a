"""Fetching an image given as an http(s) URL, only when ``[Vision] ALLOW_URLS`` is on.

A simulation that reads the network stops being reproducible and may leak what it studies, so URLs
are refused unless allowed. When allowed, one GET through ``httpx`` (the library's one HTTP client
for such calls) follows at most 3 redirects, gives up after ``[Vision] URL_TIMEOUT`` seconds, and
stops reading past ``[Vision] MAX_FILE_BYTES``: a server cannot make the agent hold a huge answer.

Example:
    >>> is_url("https://example.org/cat.png"), is_url("cat.png")
    (True, False)
"""

from __future__ import annotations

import time

from tinytroupe.errors import ImageError

MAX_REDIRECTS = 3


def is_url(value: object) -> bool:
    """Whether ``value`` is a string naming an http(s) URL."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def fetch_image_bytes(url: str, *, allow: bool, max_bytes: int, timeout: float) -> bytes:
    """The body of ``url`` (at most ``max_bytes``), fetched within ``timeout`` seconds in all.

    Raises:
        ImageError: URLs are not allowed (``url_refused``); the server could not be reached, answered
            with an error status, was too slow, or sent more than ``max_bytes`` (``url_failed``,
            ``too_large``). The message names the URL.
    """
    if not allow:
        raise ImageError("images given as URLs are not fetched unless [Vision] ALLOW_URLS is on (or pass the "
                         "file or its bytes)", source=url, reason="url_refused")
    import httpx  # only when a URL is fetched: importing tinytroupe loads no HTTP client

    deadline = time.monotonic() + timeout
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS) as client, \
                client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise ImageError(f"the server answered HTTP {response.status_code}", source=url, reason="url_failed")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ImageError(f"is {int(declared):,} bytes, over the limit of {max_bytes:,} ([Vision] "
                                 "MAX_FILE_BYTES)", source=url, reason="too_large")
            chunks: list[bytes] = []
            received = 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise ImageError(f"sent more than {max_bytes:,} bytes ([Vision] MAX_FILE_BYTES)", source=url,
                                     reason="too_large")
                if time.monotonic() > deadline:
                    raise ImageError(f"took longer than {timeout:g} s ([Vision] URL_TIMEOUT)", source=url,
                                     reason="url_failed")
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise ImageError(f"took longer than {timeout:g} s ([Vision] URL_TIMEOUT)", source=url,
                         reason="url_failed") from None
    except httpx.HTTPError as exc:
        raise ImageError(f"could not be fetched ({type(exc).__name__}: {exc})", source=url,
                         reason="url_failed") from exc
    return b"".join(chunks)


__all__ = ["MAX_REDIRECTS", "fetch_image_bytes", "is_url"]
