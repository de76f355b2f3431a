"""An agent's sight: images it is shown (``see(image=...)``), described once for models that read only
text, shown to a vision model in the turn that follows, and shown on to others with ``SHOW``.

What happens to an image (``docs/grounding.md``, "Vision"):

1. it is read and checked (:mod:`tinytroupe.vision.images`; a URL only with ``[Vision] ALLOW_URLS``);
   bytes and downloads are kept as a copy by content hash (:class:`~tinytroupe.vision.attachment.ImageStore`);
2. it gets a description, once: the one the agent already remembers for the same image (same hash);
   else, when a model that reads images is at hand (:func:`vision_client_of`) and the agent's own
   model will not see the pixels, that model's description (with the caption given as context); else
   the caption given; with neither, an :class:`~tinytroupe.errors.ImageError` (``no_description``):
   no description is ever made up;
3. one ``VISUAL`` memory holds the description and the image's reference (``(image img-…: name)``)
   and an :class:`~tinytroupe.vision.attachment.ImageAttachment`; the retrieval index embeds its text;
4. in the agent's next turn, if its own client reads images and ``[OpenAI] VISION_MODEL`` is set, the
   new images go with the prompt as content parts and the turn asks the vision model
   (:func:`turn_images`); otherwise the turn reads the description;
5. the agent gains the ``SHOW`` action (:class:`ImageSharing`); the world delivers a shown image to
   its viewers as a ``VISUAL`` stimulus carrying the same attachment (so nobody describes it again).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinytroupe.agent.faculties import MentalFaculty
from tinytroupe.agent.memory.episodic import MemoryItem
from tinytroupe.agent.prompts import template
from tinytroupe.config.models import Settings
from tinytroupe.errors import ImageError, InvalidArgumentType
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import ImagePart, Message
from tinytroupe.vision.attachment import ImageAttachment, ImageStore, reload_image
from tinytroupe.vision.fetch import fetch_image_bytes, is_url
from tinytroupe.vision.images import ImageLimits, LoadedImage, load_image

if TYPE_CHECKING:  # annotations only
    from tinytroupe.agent.turn import Turn

#: what ``see(image=...)`` takes: a file path, an http(s) URL (a str), the bytes of an image file, or
#: an attachment from a memory (a shown image)
ImageLike = str | Path | bytes | ImageAttachment

SHOW_ACTION = "SHOW"
SHOW_DESCRIPTION = ("show an image you have seen to someone; content is the image's id (img-...) as your memory "
                    "names it, target the viewer's name (empty: everyone around)")


class ImageSharing(MentalFaculty):
    """The ``SHOW`` action, which an agent gains when it first sees an image (the world routes it).

    Example:
        >>> "SHOW" in ImageSharing().actions_definitions()
        True
    """

    def __init__(self) -> None:
        super().__init__("image_sharing", actions={SHOW_ACTION: SHOW_DESCRIPTION})


def image_limits(settings: Settings) -> ImageLimits:
    """The ``[Vision]`` limits in force."""
    return ImageLimits.from_settings(settings.vision)


def image_store(settings: Settings) -> ImageStore:
    """Where copies of images given as bytes or URLs go (``[Vision] STORE_DIR``, else the user cache)."""
    folder = settings.vision.store_dir
    return ImageStore(folder if folder else ImageStore.default_directory())


def read_image(value: ImageLike, settings: Settings) -> tuple[LoadedImage, str, bool, str | None]:
    """``value`` read and checked: the image, the file it is kept in, whether that file is our copy, and
    the URL it came from (if any).

    Raises:
        ImageError: see :func:`~tinytroupe.vision.images.load_image` and
            :func:`~tinytroupe.vision.fetch.fetch_image_bytes`.
        InvalidArgumentType: ``value`` is not an image reference.
    """
    limits, vision = image_limits(settings), settings.vision
    if isinstance(value, str) and is_url(value):
        raw = fetch_image_bytes(value, allow=vision.allow_urls, max_bytes=vision.max_file_bytes,
                                timeout=vision.url_timeout)
        name = value.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "image"
        image = load_image(raw, limits, name=name, source=value)
        return image, str(image_store(settings).put(raw, value)), True, value
    if isinstance(value, bytes | bytearray | memoryview):
        image = load_image(bytes(value), limits)
        return image, str(image_store(settings).put(bytes(value), "bytes")), True, None
    if isinstance(value, str | Path):
        path = Path(value).expanduser().resolve()
        return load_image(path, limits, source=str(value)), str(path), False, None
    raise InvalidArgumentType(f"an image must be a file path, a URL, bytes or an ImageAttachment, got "
                              f"{type(value).__name__}")


def remembered_description(items: Sequence[MemoryItem], sha256: str) -> ImageAttachment | None:
    """The newest attachment of the image with ``sha256`` among ``items`` (it was described before)."""
    for item in reversed(items):
        if item.attachment is not None and item.attachment.sha256 == sha256:
            return item.attachment
    return None


def vision_client_of(own: LLMClient, vision_client: LLMClient | None, settings: Settings) -> LLMClient | None:
    """The client that describes images: ``vision_client`` when given, else the agent's own client when it
    reads images and ``[OpenAI] VISION_MODEL`` is set; None when there is none."""
    if vision_client is not None:
        return vision_client
    return own if own.accepts_images and settings.openai.vision_model else None


async def adescribe_image(client: LLMClient, image: LoadedImage, *, model: str | None, detail: str,
                          caption: str | None = None, agent: str | None = None) -> str:
    """One call asking ``client`` (``model``) to describe ``image``; the text it wrote.

    Raises:
        LLMError: the call failed, or the model wrote nothing (``LLMOutputError``).
    """
    prompt = template("image_description.j2").render(caption=caption, file_name=image.name)
    part = ImagePart.model_validate({"url": image.data_url(), "detail": detail})
    params: dict[str, Any] = {"model": model} if model else {}
    result = await client.acomplete([Message(role="user", content=prompt, images=(part,))], purpose="vision",
                                    agent=agent, **params)
    return str(result.value).strip()


def needs_description(caption: str | None, describer: LLMClient | None, sees_pixels: bool, source: str) -> bool:
    """Whether a model must describe an image (no remembered description): True when one can and the
    agent's own model will not see the pixels, or when no caption was given.

    Raises:
        ImageError: no caption and no model that reads images (``no_description``).
    """
    if describer is None:
        if caption is None or not caption.strip():
            raise ImageError("has no description, and no model that reads images is configured: pass description=..., "
                             "set [OpenAI] VISION_MODEL with an OpenAI-compatible backend, or give the agent a "
                             "vision_client", source=source, reason="no_description")
        return False
    return not sees_pixels or caption is None or not caption.strip()


def memory_text(attachment: ImageAttachment, caption: str | None) -> str:
    """The ``VISUAL`` memory's text: the caption (when it is not the description itself), the description
    and the image's reference."""
    text = attachment.description
    if caption and caption.strip() and caption.strip() != text:
        text = f"{caption.strip()} — {text}"
    return f"{text} {attachment.reference()}"


def turn_images(turn: Turn, settings: Settings) -> None:
    """Show the turn's new images to its model: content parts on the last user message and the vision
    model for the call, when the turn's client reads images and ``[OpenAI] VISION_MODEL`` is set.

    Raises:
        ImageError: an image's file is gone or changed since it was seen.
    """
    model = settings.openai.vision_model
    if not model or not turn.client.accepts_images or turn.view is None or not turn.messages:
        return
    attachments = [i.attachment for i in turn.view.new if i.attachment is not None]
    if not attachments:
        return
    limits = image_limits(settings)
    detail = settings.openai.vision_detail
    parts = tuple(ImagePart(url=reload_image(a, limits).data_url(), detail=detail) for a in attachments)
    last = turn.messages[-1]
    turn.messages[-1] = Message(role=last.role, content=last.content, images=parts)
    turn.params.setdefault("model", model)


__all__ = ["SHOW_ACTION", "SHOW_DESCRIPTION", "ImageLike", "ImageSharing", "adescribe_image", "image_limits",
           "image_store", "memory_text", "needs_description", "read_image", "remembered_description", "turn_images",
           "vision_client_of"]
