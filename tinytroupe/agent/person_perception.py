"""What a :class:`~tinytroupe.agent.person.TinyPerson` perceives: speech, sights (text or images),
thoughts, goals, social cues, places, and documents it reads.

Each stimulus becomes one episodic memory and one :class:`~tinytroupe.events.StimulusEvent`; the
methods return the agent, so calls chain (``lisa.listen("Hi").think("Who is this?")``). The
signatures are TinyTroupe 0.6.0's: ``max_content_length`` bounds what is displayed (never what is
remembered) and ``communication_display`` shows the stimulus for this call (see
:mod:`~tinytroupe.agent.person_display`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Self

from tinytroupe.agent.actions import StimulusType
from tinytroupe.agent.grounding_faculty import FilesAndWebGroundingFaculty
from tinytroupe.agent.memory import passages, read_document
from tinytroupe.agent.person_display import DisplayMethods
from tinytroupe.agent.vision import (
    SHOW_ACTION,
    ImageLike,
    ImageSharing,
    adescribe_image,
    memory_text,
    needs_description,
    read_image,
    remembered_description,
    vision_client_of,
)
from tinytroupe.aio import run_sync
from tinytroupe.config.models import Settings
from tinytroupe.errors import ConfigError, DocumentError, InvalidArgument, InvalidArgumentType
from tinytroupe.events import StimulusEvent
from tinytroupe.grounding.folders import folder_files
from tinytroupe.llm.client import LLMClient
from tinytroupe.vision.attachment import ImageAttachment

if TYPE_CHECKING:  # annotations only: person.py builds on this module
    from tinytroupe.agent.person import TinyPerson

logger = logging.getLogger(__name__)

#: characters of a document shown in the stimulus that says it was read (the passages hold the rest)
DOCUMENT_PREVIEW_CHARS = 300


class PerceptionMethods(DisplayMethods):
    """The perception part of :class:`~tinytroupe.agent.person.TinyPerson`."""

    #: a client that describes images for this agent when its own model reads only text (see :meth:`see`)
    vision_client: LLMClient | None = None

    def _perceive(self, stimulus_type: StimulusType, content: str, source: TinyPerson | str | None,
                  max_content_length: int | None = None, communication_display: bool | None = None,
                  attachment: ImageAttachment | None = None) -> Self:
        if not isinstance(content, str):
            raise InvalidArgumentType(f"{stimulus_type.value.lower()} content for {self.name} must be text, "
                                      f"got {type(content).__name__}")
        # What _now, _step, _world_name and StimulusType.value give, read here directly: each
        # replayed ring turn perceives a stimulus, and those helpers were a third of its calls.
        src = source if source is None or isinstance(source, str) else source.name
        world = self.environment
        if world is None:
            now = step = world_name = None
        else:
            now, step, world_name = world.current_datetime, world.current_step, world.name
        kind = stimulus_type._value_  # the enum's attribute behind .value (a property), the same str object
        with self._displaying(communication_display, max_content_length), self._lock:
            self.memory.add(kind="stimulus", type=kind, content=content, source=src,
                            sim_time=now, step=step, attachment=attachment)
            self._publish(StimulusEvent(stimulus_type=kind, content=content, source=src,
                                        agent=self.name, world=world_name, step=step,
                                        sim_time=now.isoformat() if now else None))
        return self

    def listen(self, speech: str, source: TinyPerson | str | None = None, max_content_length: int | None = None,
               communication_display: bool | None = None) -> Self:
        """Hear ``speech`` (from ``source``).

        Example:
            >>> from tinytroupe.agent import TinyPerson
            >>> TinyPerson("Lisa").listen("Hi", "Ben").memory.items()[0].describe("Lisa")
            'Ben said: "Hi"'
        """
        return self._perceive(StimulusType.CONVERSATION, speech, source, max_content_length, communication_display)

    def see(self, visual_description: str | None = None, source: TinyPerson | str | None = None,
            max_content_length: int | None = None, communication_display: bool | None = None, *,
            image: ImageLike | Sequence[ImageLike] | None = None, images: Sequence[ImageLike] | None = None,
            description: str | None = None) -> Self:
        """See something: described in text (``see("a red car")``), or an image (``see(image=..., description=...)``).

        ``image`` (or ``images``, several) is a file path, an http(s) URL (fetched only with ``[Vision]
        ALLOW_URLS``), the bytes of an image file, or an attachment of a remembered image.
        ``description`` (or ``visual_description``) is the caption. Each image becomes one ``VISUAL``
        memory with its description, described once: see :mod:`tinytroupe.agent.vision` for who
        describes it (a remembered description, a model that reads images, or the caption), and how
        a vision model is shown the image in the next turn. The agent gains the ``SHOW`` action.

        Raises:
            ImageError: an image is missing, too large, not an image, unsupported, a refused URL, or
                has no description and no model to describe it (the message names the image).
            InvalidArgument: neither a description nor an image, or both ``image`` and ``images``.
            InvalidState: a model must describe an image and this is called from a coroutine on
                tinytroupe's event loop (await :meth:`asee` there).

        Example:
            >>> import io
            >>> from PIL import Image
            >>> from tinytroupe.agent import TinyPerson
            >>> buf = io.BytesIO(); Image.new("RGB", (4, 4), "red").save(buf, format="PNG")
            >>> lisa = TinyPerson("Lisa").see(image=buf.getvalue(), description="a red square")
            >>> lisa.memory.items()[-1].content.startswith("a red square (image img-")
            True
        """
        if image is None and images is None:
            text = visual_description if visual_description is not None else description
            if text is None:
                raise InvalidArgument(f"see() for {self.name} needs a visual_description, or image=...")
            return self._perceive(StimulusType.VISUAL, text, source, max_content_length, communication_display)
        return run_sync(self.asee(visual_description, source, max_content_length, communication_display,
                                  image=image, images=images, description=description))

    async def asee(self, visual_description: str | None = None, source: TinyPerson | str | None = None,
                   max_content_length: int | None = None, communication_display: bool | None = None, *,
                   image: ImageLike | Sequence[ImageLike] | None = None, images: Sequence[ImageLike] | None = None,
                   description: str | None = None) -> Self:
        """Async twin of :meth:`see` (a model describing an image is awaited, not run on another loop).

        Raises:
            ImageError, InvalidArgument: as :meth:`see`.
        """
        if image is not None and images is not None:
            raise InvalidArgument("see() takes image= or images=, not both")
        given = images if images is not None else image
        todo: list[ImageLike | None] = list(given) if isinstance(given, list | tuple) else [given]  # type: ignore[list-item]
        caption = description if description is not None else visual_description
        settings = self.context.settings
        for value in todo:
            if value is None:
                raise InvalidArgument(f"see() for {self.name}: an image is None")
            attachment = await self._image_attachment(value, caption, settings)
            self.see_attachment(attachment, caption, source, max_content_length, communication_display)
        return self

    def see_attachment(self, attachment: ImageAttachment, caption: str | None = None,
                       source: TinyPerson | str | None = None, max_content_length: int | None = None,
                       communication_display: bool | None = None) -> Self:
        """See an image already read and described (one another agent ``SHOW`` s): no model call.

        The agent remembers it as a ``VISUAL`` memory carrying ``attachment`` and gains ``SHOW``.
        """
        self._perceive(StimulusType.VISUAL, memory_text(attachment, caption), source, max_content_length,
                       communication_display, attachment=attachment)
        with self._lock:  # re-entrant: add_mental_faculty takes it too, and two threads must not both add it
            if SHOW_ACTION not in self.actions_registry.types:
                self.add_mental_faculty(ImageSharing())
        return self

    async def _image_attachment(self, value: ImageLike, caption: str | None, settings: Settings) -> ImageAttachment:
        if isinstance(value, ImageAttachment):  # a shown image: described already
            return value
        loaded, path, stored, url = read_image(value, settings)
        known = remembered_description(self.memory.items(), loaded.sha256)
        if known is not None:
            return ImageAttachment.of(loaded, known.description, path=path, stored=stored, url=url,
                                      described_by=known.described_by)
        own = self.client
        describer = vision_client_of(own, self.vision_client, settings)
        sees_pixels = own.accepts_images and bool(settings.openai.vision_model)
        if not needs_description(caption, describer, sees_pixels, loaded.source):
            return ImageAttachment.of(loaded, (caption or "").strip(), path=path, stored=stored, url=url)
        assert describer is not None  # needs_description raised otherwise
        model = settings.openai.vision_model
        text = await adescribe_image(describer.for_caller(self.bus), loaded, model=model,
                                     detail=settings.openai.vision_detail, caption=caption, agent=self.name)
        return ImageAttachment.of(loaded, text, path=path, stored=stored, url=url,
                                  described_by=model or describer.backend.default_model)

    def think(self, thought: str, max_content_length: int | None = None,
              communication_display: bool | None = None) -> Self:
        """Have a thought put in mind (not an action: nobody else perceives it)."""
        return self._perceive(StimulusType.THOUGHT, thought, None, max_content_length, communication_display)

    def internalize_goal(self, goal: str, max_content_length: int | None = None,
                         communication_display: bool | None = None) -> Self:
        """Adopt a goal."""
        return self._perceive(StimulusType.INTERNAL_GOAL_FORMULATION, goal, None, max_content_length,
                              communication_display)

    def socialize(self, social_description: str, source: TinyPerson | str | None = None,
                  max_content_length: int | None = None, communication_display: bool | None = None) -> Self:
        """Perceive a social cue (someone arrived, a relation changed ...)."""
        return self._perceive(StimulusType.SOCIAL, social_description, source, max_content_length,
                              communication_display)

    def move_to(self, location: str, context: Iterable[str] | None = None) -> Self:
        """Go to ``location`` (optionally changing the context too)."""
        with self._lock:
            self.location = location
            if context is not None:
                self.cognitive_state = self.cognitive_state.model_copy(update={"context": list(context)})
        return self._perceive(StimulusType.LOCATION, location, None)

    def change_context(self, context: Iterable[str]) -> Self:
        """Replace the situational context (a few short facts)."""
        with self._lock:
            self.cognitive_state = self.cognitive_state.model_copy(update={"context": list(context)})
        return self

    def read_document_from_file(self, file_path: str | Path, max_content_length: int | None = None,
                                communication_display: bool | None = None) -> Self:
        """Read a text, Markdown, HTML, PDF or DOCX file into memory (and into the agent's documents).

        The text (at most :data:`~tinytroupe.agent.memory.documents.MAX_DOCUMENT_CHARS` characters;
        a longer one is cut, with a logged warning) is cut into passages that go into semantic
        memory, where each turn's relevance retrieval finds the ones that matter; one ``DOCUMENT``
        stimulus records the reading in episodic memory with the first lines. An agent with a
        :class:`~tinytroupe.agent.grounding_faculty.FilesAndWebGroundingFaculty` also gets the file
        in its document store, chunked with ids it can ``CONSULT`` and cite. TinyTroupe 0.6.0 calls a
        method its semantic memory lacks here, so this is our own design. No LLM call.

        Raises:
            DocumentError: (an ``InvalidArgument``) the file is missing, too large, of an unknown kind,
                not UTF-8 text, or an unreadable, encrypted or text-less PDF (the message names the file).

        Example:
            >>> import os, tempfile
            >>> from tinytroupe.agent import TinyPerson
            >>> path = os.path.join(tempfile.mkdtemp(), "menu.md")
            >>> _ = open(path, "w").write("Soup of the day: leek.")
            >>> lisa = TinyPerson("Lisa").read_document_from_file(path)
            >>> lisa.memory.items()[-1].describe("Lisa")
            'you read: menu.md (22 characters): Soup of the day: leek.'
        """
        document = read_document(file_path)
        grounding = self._grounding_faculty()
        if grounding is not None:
            grounding.ingest(self, file_path)  # type: ignore[arg-type]
        if document.truncated_chars:
            logger.warning("%s: %s is long; the last %s characters were not read", self.name, document.path,
                           f"{document.truncated_chars:,}")
        self.memories.add_document(document.name, passages(document.text), sim_time=self._now())
        size = f"{document.pages} pages, " if document.pages is not None else ""
        preview = " ".join(document.text.split())
        if len(preview) > DOCUMENT_PREVIEW_CHARS:
            preview = preview[: DOCUMENT_PREVIEW_CHARS - 1] + "…"
        note = f"{document.name} ({size}{len(document.text):,} characters): {preview}"
        return self._perceive(StimulusType.DOCUMENT, note, None, max_content_length, communication_display)

    def read_documents_from_folder(self, documents_path: str | Path, max_content_length: int | None = None,
                                   communication_display: bool | None = None) -> Self:
        """Read every readable file of a folder (subfolders too) with :meth:`read_document_from_file`.

        A file that cannot be read is skipped, and one warning lists the skipped files with why;
        the files read stay read.

        Raises:
            DocumentError: the folder is missing, or holds nothing readable (``skipped`` says why).
        """
        root, files = folder_files(documents_path)
        skipped: list[tuple[str, str]] = []
        for path in files:
            try:
                self.read_document_from_file(path, max_content_length, communication_display)
            except (DocumentError, ConfigError) as exc:
                skipped.append((path.relative_to(root).as_posix(), str(exc)))
        if skipped:
            logger.warning("%s: left out %d file(s) of %s: %s", self.name, len(skipped), root,
                           "; ".join(f"{name} ({why})" for name, why in skipped))
        if len(skipped) == len(files):
            raise DocumentError(f"nothing readable in the folder ({len(files)} file(s))", path=str(root),
                                skipped=skipped)
        return self

    def _grounding_faculty(self) -> FilesAndWebGroundingFaculty | None:
        for faculty in self.mental_faculties:
            if isinstance(faculty, FilesAndWebGroundingFaculty):
                return faculty
        return None


__all__ = ["PerceptionMethods"]
