"""Reading an image an agent is shown: checked with Pillow, scaled down, re-encoded for a model.

:func:`load_image` takes a file path or the bytes of an image (URLs are
:mod:`tinytroupe.vision.fetch`'s job) and returns a :class:`LoadedImage`, or raises an
:class:`~tinytroupe.errors.ImageError` naming the image: a missing file, a file over
``max_file_bytes``, bytes Pillow cannot decode (a text file renamed ``.png``, a cut file), a format
outside :data:`SUPPORTED_FORMATS`, more than ``max_pixels`` pixels (read from the header, before the
pixels are decoded: a decompression bomb never reaches memory). The image is then scaled down to
``max_side`` pixels on its longest side and written as PNG (JPEG stays JPEG), which is what a
model is sent.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (2000, 500), "red").save(buf, format="PNG")
    >>> img = load_image(buf.getvalue(), ImageLimits(max_side=400))
    >>> img.size, img.original_size, img.mime
    ((400, 100), (2000, 500), 'image/png')
    >>> img.data_url().startswith("data:image/png;base64,")
    True
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tinytroupe.errors import ImageError, InvalidArgumentType

if TYPE_CHECKING:
    from tinytroupe.config.models import VisionSettings

#: formats an image may be in (Pillow's names); others are refused with ``unsupported_format``
SUPPORTED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "BMP"})
#: what each format is sent as: JPEG stays JPEG (photos), everything else becomes PNG
_SENT_AS = {"JPEG": ("JPEG", "image/jpeg")}
_PNG = ("PNG", "image/png")


class ImageLimits(BaseModel):
    """What an image may be, and the size it is sent at (the ``[Vision]`` settings by default).

    Example:
        >>> ImageLimits().max_side
        1024
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_file_bytes: int = Field(20 * 1024 * 1024, ge=1)
    max_pixels: int = Field(40_000_000, ge=1)
    max_side: int = Field(1024, ge=1)

    @classmethod
    def from_settings(cls, vision: VisionSettings) -> ImageLimits:
        """The limits of a ``[Vision]`` section."""
        return cls(max_file_bytes=vision.max_file_bytes, max_pixels=vision.max_pixels, max_side=vision.max_side)


@dataclass(frozen=True)
class LoadedImage:
    """An image ready to be shown to a model.

    ``data`` is the image as sent (scaled down, re-encoded; ``mime`` its type), ``sha256`` the hash of
    the bytes as given (the image's identity: the same file gives the same hash), ``name`` a short
    name for prompts (the file's name, or ``image``) and ``source`` where it came from (a path, a URL
    or ``bytes``).
    """

    data: bytes
    mime: str
    size: tuple[int, int]
    original_size: tuple[int, int]
    original_format: str
    sha256: str
    name: str
    source: str

    def data_url(self) -> str:
        """The image as a ``data:`` URL (what a chat request carries)."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    @property
    def image_id(self) -> str:
        """A short stable id (``img-`` and the first 10 hex digits of :attr:`sha256`) agents refer to it by."""
        return f"img-{self.sha256[:10]}"


def _read_file(path: Path, limits: ImageLimits) -> bytes:
    where = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageError("no such file", source=where, reason="missing") from None
    except OSError as exc:
        raise ImageError(f"cannot be read ({exc.strerror or exc})", source=where, reason="missing") from exc
    if not path.is_file():
        raise ImageError("is not a file", source=where, reason="missing")
    if size > limits.max_file_bytes:
        raise ImageError(f"is {size:,} bytes, over the limit of {limits.max_file_bytes:,} ([Vision] MAX_FILE_BYTES)",
                         source=where, reason="too_large")
    return path.read_bytes()


def _decode(raw: bytes, source: str, limits: ImageLimits) -> Any:
    """The decoded Pillow image of ``raw`` (checked for format and pixel count before decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns past half its own bomb limit; ours is the limit that decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            fmt = str(probe.format or "")
            width, height = probe.size
            if fmt not in SUPPORTED_FORMATS:
                raise ImageError(f"is a {fmt or 'unknown'} image; supported: {', '.join(sorted(SUPPORTED_FORMATS))}",
                                 source=source, reason="unsupported_format")
            if width * height > limits.max_pixels:
                raise ImageError(f"is {width}x{height} pixels, over the limit of {limits.max_pixels:,} "
                                 "([Vision] MAX_PIXELS)", source=source, reason="too_many_pixels")
            probe.verify()  # checks the file's structure; the image must be opened again to be used
            image = Image.open(io.BytesIO(raw))
            image.load()
    except ImageError:
        raise  # ours (a ValueError too): already names the image and the reason
    except UnidentifiedImageError:
        raise ImageError("is not an image Pillow can read (or its format is unsupported)", source=source,
                         reason="not_an_image") from None
    except Image.DecompressionBombError:
        raise ImageError("has too many pixels ([Vision] MAX_PIXELS)", source=source, reason="too_many_pixels") from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's ways of saying the data is damaged
        raise ImageError(f"is a damaged or truncated image ({exc})", source=source, reason="not_an_image") from exc
    return image


def _encode(image: Any, original_format: str, limits: ImageLimits) -> tuple[bytes, str, tuple[int, int]]:
    from PIL import Image

    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # an animation is shown by its first frame
    fmt, mime = _SENT_AS.get(original_format, _PNG)
    mode = "RGB" if fmt == "JPEG" else ("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    frame = image.convert(mode)
    if max(frame.size) > limits.max_side:
        frame.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    frame.save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {"optimize": False}))
    return out.getvalue(), mime, frame.size


def load_image(image: str | Path | bytes, limits: ImageLimits | None = None, *, name: str | None = None,
               source: str | None = None) -> LoadedImage:
    """Read, check and scale down ``image`` (a file path or the image's bytes).

    Args:
        image: a path, or the bytes of an image file.
        limits: what is accepted and the size sent (default: :class:`ImageLimits`' defaults).
        name: the short name prompts show (default: the file's name, or ``image``).
        source: how errors name the image (default: the path, or ``bytes``).

    Raises:
        ImageError: the image is missing, too large, not an image, of an unsupported format, or has
            too many pixels; the message names it.
        InvalidArgumentType: ``image`` is neither a path nor bytes.
    """
    limits = limits if limits is not None else ImageLimits()
    if isinstance(image, bytes | bytearray | memoryview):
        raw = bytes(image)
        where = source or "bytes"
        if len(raw) > limits.max_file_bytes:
            raise ImageError(f"is {len(raw):,} bytes, over the limit of {limits.max_file_bytes:,} "
                             "([Vision] MAX_FILE_BYTES)", source=where, reason="too_large")
        default_name = "image"
    elif isinstance(image, str | Path):
        path = Path(image).expanduser()
        raw = _read_file(path, limits)
        where, default_name = source or str(path), path.name
    else:
        raise InvalidArgumentType(f"an image must be a file path or bytes, got {type(image).__name__}")
    decoded = _decode(raw, where, limits)
    original_format, original_size = str(decoded.format), decoded.size
    data, mime, size = _encode(decoded, original_format, limits)
    return LoadedImage(data=data, mime=mime, size=size, original_size=original_size, original_format=original_format,
                       sha256=hashlib.sha256(raw).hexdigest(), name=name or default_name, source=where)


__all__ = ["SUPPORTED_FORMATS", "ImageLimits", "LoadedImage", "load_image"]
