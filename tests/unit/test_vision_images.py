"""Images checked with Pillow (real files made here), URLs fetched from a real local server, image parts
on the LLM port with text-only cache keys unchanged, and the mock server's handling of image parts."""

from __future__ import annotations

import http.server
import io
import socketserver
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tinytroupe.devtools.mock_openai_server import MockOpenAIServer
from tinytroupe.errors import ImageError, InvalidArgument
from tinytroupe.llm import LLMClient, ScriptedBackend
from tinytroupe.llm.tool_wire import wire_message
from tinytroupe.llm.types import ImagePart, LLMRequest, Message
from tinytroupe.vision import ImageLimits, fetch_image_bytes, load_image


def png_bytes(size: tuple[int, int] = (64, 32), colour: str = "red", fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format=fmt)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (the pixel data is a few bytes only)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + _chunk(b"IEND", b""))


# -- reading and checking -----------------------------------------------------------------------


def test_a_png_is_scaled_down_to_the_longest_side_and_stays_png(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    path.write_bytes(png_bytes((1600, 800)))
    image = load_image(path, ImageLimits(max_side=512))
    assert (image.size, image.original_size, image.mime, image.name) == ((512, 256), (1600, 800), "image/png",
                                                                         "chart.png")
    assert Image.open(io.BytesIO(image.data)).size == (512, 256)
    assert image.data_url().startswith("data:image/png;base64,")
    assert load_image(path).sha256 == image.sha256  # the hash is of the file as given


def test_a_jpeg_stays_jpeg_and_a_small_image_keeps_its_size(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(png_bytes((300, 200), "blue", fmt="JPEG"))
    image = load_image(path)
    assert (image.mime, image.size, image.original_format) == ("image/jpeg", (300, 200), "JPEG")


def test_a_cut_png_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    path.write_bytes(png_bytes((200, 200))[:60])
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert info.value.reason == "not_an_image" and str(path) in str(info.value)


def test_a_text_file_renamed_png_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are my notes, not a picture\n" * 20)
    with pytest.raises(ImageError, match=r"notes\.png") as info:
        load_image(path)
    assert info.value.reason == "not_an_image" and isinstance(info.value, ValueError)


def test_huge_dimensions_are_refused_from_the_header_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(huge_png_header(100_000, 100_000))  # 10 gigapixels claimed, under 100 bytes on disk
    with pytest.raises(ImageError, match="too many pixels") as info:
        load_image(path)
    assert info.value.reason == "too_many_pixels" and "bomb.png" in str(info.value)
    with pytest.raises(ImageError, match=r"is 200x100 pixels, over the limit of 10,000") as ours:
        load_image(png_bytes((200, 100)), ImageLimits(max_pixels=10_000))
    assert ours.value.reason == "too_many_pixels"


def test_a_file_over_the_byte_limit_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes((400, 400)))
    with pytest.raises(ImageError, match="over the limit") as info:
        load_image(path, ImageLimits(max_file_bytes=100))
    assert info.value.reason == "too_large"
    with pytest.raises(ImageError, match="no such file") as missing:
        load_image(tmp_path / "gone.png")
    assert missing.value.reason == "missing"


def test_an_unsupported_format_is_named(tmp_path: Path) -> None:
    path = tmp_path / "scan.tiff"
    Image.new("RGB", (10, 10)).save(path, format="TIFF")
    with pytest.raises(ImageError, match="TIFF") as info:
        load_image(path)
    assert info.value.reason == "unsupported_format"


# -- URLs ------------------------------------------------------------------------------------------


@pytest.fixture
def image_site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "cat.png").write_bytes(png_bytes((40, 40), "black"))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None  # type: ignore[method-assign]
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join(5)


def test_urls_are_refused_unless_allowed() -> None:
    with pytest.raises(ImageError, match="ALLOW_URLS") as info:
        fetch_image_bytes("http://127.0.0.1:9/cat.png", allow=False, max_bytes=10_000, timeout=1)
    assert info.value.reason == "url_refused"


def test_an_allowed_url_is_fetched_within_its_limits(image_site: str) -> None:
    raw = fetch_image_bytes(f"{image_site}/cat.png", allow=True, max_bytes=1_000_000, timeout=5)
    assert load_image(raw).size == (40, 40)
    with pytest.raises(ImageError) as big:
        fetch_image_bytes(f"{image_site}/cat.png", allow=True, max_bytes=20, timeout=5)
    assert big.value.reason == "too_large"
    with pytest.raises(ImageError, match="HTTP 404") as missing:
        fetch_image_bytes(f"{image_site}/dog.png", allow=True, max_bytes=1_000_000, timeout=5)
    assert missing.value.reason == "url_failed"


# -- the LLM port ------------------------------------------------------------------------------------


def test_text_only_requests_keep_the_cache_keys_they_had() -> None:
    request = LLMRequest(messages=(Message(role="system", content="You are Ana."), Message(role="user", content="Hi")),
                         model="m", temperature=0.5)
    # computed by the code before images existed (main at 75f6ac0)
    assert request.cache_key({"backend": "openai", "model": "m"}) == \
        "eaab45332fa04a7b4ddcd63be743766bbf27d8072b676523037935155ce0531c"
    assert "images" not in request.canonical_json()


def test_images_are_part_of_the_key_and_go_as_content_parts() -> None:
    part = ImagePart(url="data:image/png;base64,iVBORw0KGgo=", detail="high")
    plain = LLMRequest(messages=(Message(role="user", content="What is it?"),))
    shown = LLMRequest(messages=(Message(role="user", content="What is it?", images=(part,)),))
    assert plain.cache_key() != shown.cache_key()
    assert wire_message(shown.messages[0])["content"] == [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}}]
    with pytest.raises(ValueError, match="only a 'user' message shows images"):
        Message(role="system", content="x", images=(part,))
    with pytest.raises(ValueError):
        ImagePart(url="https://example.org/cat.png")


def test_a_text_only_backend_is_never_sent_images_silently() -> None:
    part = ImagePart(url="data:image/png;base64,iVBORw0KGgo=")
    client = LLMClient(ScriptedBackend(["ok"]))
    with pytest.raises(InvalidArgument, match="reads no images"):
        client.complete([Message(role="user", content="look", images=(part,))])
    assert LLMClient(ScriptedBackend(["ok"], images=True)).complete(
        [Message(role="user", content="look", images=(part,))]).value == "ok"


# -- the mock server ---------------------------------------------------------------------------------


def test_the_mock_server_checks_and_reports_image_parts() -> None:
    good = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "see"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]}]}
    bad_detail = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "ultra"}}]}]}
    bad_data = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]}
    with MockOpenAIServer(replies=["a cat"]) as server:
        ok = httpx.post(f"{server.base_url}/chat/completions", json=good, timeout=5)
        refused = [httpx.post(f"{server.base_url}/chat/completions", json=b, timeout=5) for b in (bad_detail, bad_data)]
        stats = httpx.get(f"{server.base_url.removesuffix('/v1')}/mock/stats", timeout=5).json()
        images = server.requests[0].images()
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "a cat"
    assert [r.status_code for r in refused] == [400, 400]
    assert "detail must be one of" in refused[0].json()["error"]["message"]
    assert "base64" in refused[1].json()["error"]["message"]
    assert [(i.mime, i.detail, i.size) for i in images] == [("image/png", "low", 8)]
    assert stats["images"] == 1
