"""Images for agents to see: reading and checking them with Pillow (:mod:`.images`), fetching URLs when
allowed (:mod:`.fetch`), and what a memory keeps of one (:mod:`.attachment`). How agents see, describe
and show images is :mod:`tinytroupe.agent.vision`; the settings are ``[OpenAI] VISION_MODEL`` and
``VISION_DETAIL`` and the ``[Vision]`` section.

Public names: ImageLimits, LoadedImage, load_image, SUPPORTED_FORMATS, ImageAttachment, ImageStore,
reload_image, fetch_image_bytes, is_url.
"""

from tinytroupe.vision.attachment import ImageAttachment, ImageStore, reload_image
from tinytroupe.vision.fetch import fetch_image_bytes, is_url
from tinytroupe.vision.images import SUPPORTED_FORMATS, ImageLimits, LoadedImage, load_image

__all__ = ["SUPPORTED_FORMATS", "ImageAttachment", "ImageLimits", "ImageStore", "LoadedImage", "fetch_image_bytes",
           "is_url", "load_image", "reload_image"]
