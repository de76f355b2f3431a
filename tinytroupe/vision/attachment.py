"""What an agent's memory keeps of an image it saw: an :class:`ImageAttachment` on the memory item.

The attachment names the image's file (the file the agent was shown, or, for an image given as bytes
or a URL, a copy kept by content hash in an :class:`ImageStore`), its hash, its size as sent and the
description of it (the memory item's text, which the retrieval index embeds). The pixels are never
in the agent's state: a checkpoint stays small, and :func:`reload_image` reads the file again (and
checks it is still the same image) when a turn or a ``SHOW`` needs it.

Example:
    >>> import io, tempfile
    >>> from PIL import Image
    >>> from tinytroupe.vision.images import load_image
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8), "blue").save(buf, format="PNG")
    >>> raw = buf.getvalue()
    >>> store = ImageStore(tempfile.mkdtemp())
    >>> att = ImageAttachment.of(load_image(raw), "a blue square", path=store.put(raw, "bytes"), stored=True)
    >>> att.id == "img-" + att.sha256[:10], reload_image(att).sha256 == att.sha256
    (True, True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tinytroupe.errors import ImageError, StorageError
from tinytroupe.vision.images import ImageLimits, LoadedImage, load_image


class ImageAttachment(BaseModel):
    """An image attached to a memory item: where its file is, what it is, and what it shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["image"] = "image"
    #: ``img-`` and the first 10 hex digits of ``sha256``: how prompts and ``SHOW`` name the image
    id: str
    sha256: str
    #: the file's name, or ``image`` for bytes
    name: str
    #: the image file: the one given, or the stored copy (``stored``)
    path: str
    stored: bool = False
    #: the URL it was fetched from, if any
    url: str | None = None
    mime: str
    width: int
    height: int
    description: str
    #: ``given`` (the caller described it) or the model that described it
    described_by: str = "given"

    @classmethod
    def of(cls, image: LoadedImage, description: str, *, path: str | Path, stored: bool = False,
           url: str | None = None, described_by: str = "given") -> ImageAttachment:
        """The attachment of a loaded ``image`` whose file is at ``path``."""
        return cls(id=image.image_id, sha256=image.sha256, name=image.name, path=str(path), stored=stored, url=url,
                   mime=image.mime, width=image.size[0], height=image.size[1], description=description,
                   described_by=described_by)

    def reference(self) -> str:
        """How a prompt names the image, e.g. ``(image img-0a1b2c3d4e: cat.png)``."""
        return f"(image {self.id}: {self.name})"


class ImageStore:
    """Copies of images given as bytes or URLs, one file per content hash (a second copy is not written).

    Args:
        directory: where the copies go (made when the first is written).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()

    @classmethod
    def default_directory(cls) -> Path:
        """The user cache directory's ``images`` folder."""
        import platformdirs

        return Path(platformdirs.user_cache_dir("tinytroupe")) / "images"

    def put(self, raw: bytes, source: str) -> Path:
        """Keep ``raw`` (an image's bytes as given); returns its file.

        Raises:
            StorageError: the directory or file cannot be written.
        """
        import hashlib

        path = self.directory / f"{hashlib.sha256(raw).hexdigest()}.img"
        if path.exists() and path.stat().st_size == len(raw):
            return path
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(raw)
            os.replace(tmp, path)  # readers never see half a file
        except OSError as exc:
            raise StorageError(f"cannot keep a copy of the image {source} in {self.directory}: {exc}; set "
                               "[Vision] STORE_DIR to a writable folder") from exc
        return path


def reload_image(attachment: ImageAttachment, limits: ImageLimits | None = None) -> LoadedImage:
    """The attachment's image, read again from its file, to be sent to a model.

    Raises:
        ImageError: the file is gone, or is no longer the image that was seen (its hash changed).
    """
    image = load_image(attachment.path, limits, name=attachment.name)
    if image.sha256 != attachment.sha256:
        raise ImageError(f"is no longer the image {attachment.id} that was seen (the file changed)",
                         source=attachment.path, reason="missing")
    return image


__all__ = ["ImageAttachment", "ImageStore", "reload_image"]
