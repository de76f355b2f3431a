"""Documents and images in scenario files.

* ``documents:`` under an agent: folders and files only that agent can ``LIST_DOCUMENTS`` and
  ``CONSULT`` (its own store, ``agent:<name>``); at the top level: one store shared by every agent,
  population members included (``world:<world name>``, read once before the script). Either is a path,
  a list of paths, or ``{paths: [...], top_k: 5, embedder: use | hash | openai | none}``.
* ``consult: {agent or '*': question}``, a script step: the agent consults its documents as if it had
  chosen ``CONSULT question`` itself, and reads the passages at its next turn. A small model seldom
  chooses to consult on its own; this step makes sure it has read what it will be asked about.
* ``images:`` at the top level: ``[{file, description}]``, shown to every agent with
  :meth:`~tinytroupe.agent.TinyPerson.see` before the script. The description is required: a
  text-only model (the embedded one) reads only it, and one that reads images gets the pixels too.

Paths are relative to the scenario file. When the file is loaded every listed file is read, every
folder must hold at least one readable file, every image must load, and every agent a ``consult`` step
names must have documents; each problem names the scenario's file, line and field.

None of this makes a model call: reading, embedding (a local model unless ``embedder: openai``) and
retrieving are this machine's work, and a consultation's passages reach the model inside the agent's
next turn, whose call it already makes.

Example:
    >>> spec = WithDocuments.model_validate({"documents": ["docs/", "faq.md"]}).documents
    >>> spec.paths, spec.top_k, spec.path_loc(1)
    (['docs/', 'faq.md'], 5, (1,))
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ModelWrapValidatorHandler, PrivateAttr, model_validator

from tinytroupe.agent.actions import Action
from tinytroupe.agent.grounding_faculty import MAX_CONSULT_CHARS, FilesAndWebGroundingFaculty
from tinytroupe.config import current_settings
from tinytroupe.context import RunContext, current_context
from tinytroupe.embeddings.port import Embedder
from tinytroupe.errors import ConfigError, DocumentError, ImageError, ScenarioError
from tinytroupe.grounding.chunking import CHUNK_TOKENS
from tinytroupe.grounding.events import DocumentEvent
from tinytroupe.grounding.folders import folder_files
from tinytroupe.grounding.models import ChunkHit
from tinytroupe.grounding.readers import SUPPORTED_SUFFIXES, read_file
from tinytroupe.grounding.store import MAX_TOP_K, DocumentStore
from tinytroupe.llm.tokens import tokens_for_chars
from tinytroupe.scenario.model_base import Loc, NonEmpty, _short
from tinytroupe.scenario.tools import StrictModel
from tinytroupe.vision.images import ImageLimits, load_image

if TYPE_CHECKING:
    from tinytroupe.agent.person import TinyPerson
    from tinytroupe.environment.world import TinyWorld
    from tinytroupe.scenario.model import Scenario, ScriptItem

#: tokens of a passage's label line ("[faq.md#2] (faq.md)") in what a consultation shows
_LABEL_TOKENS = 12
#: folder files named in a "nothing readable" message
_NAMED_SKIPS = 5


class DocumentsSpec(StrictModel):
    """Documents to consult: ``paths`` (folders or files, relative to the scenario), how many passages
    one ``CONSULT`` shows (``top_k``) and the ``embedder`` (default: ``[Memory] EMBEDDER``; ``none``
    ranks by words alone). Written as a path, a list of paths, or a mapping with these fields."""

    paths: list[NonEmpty] = Field(min_length=1, max_length=100, description="folders or files")
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="passages one CONSULT shows")
    embedder: Literal["use", "hash", "openai", "none"] | None = Field(None, description="default: [Memory] EMBEDDER")
    _form: Literal["text", "list", "mapping"] = PrivateAttr("mapping")

    @model_validator(mode="wrap")
    @classmethod
    def _short_forms(cls, value: Any, handler: ModelWrapValidatorHandler[DocumentsSpec]) -> DocumentsSpec:
        form: Literal["text", "list", "mapping"] = ("text" if isinstance(value, str) else
                                                    "list" if isinstance(value, list) else "mapping")
        spec = handler({"paths": [value]} if form == "text" else {"paths": value} if form == "list" else value)
        spec._form = form
        return spec

    def path_loc(self, j: int) -> Loc:
        """Where path ``j`` is written, below ``documents`` (so an error points at its line)."""
        return () if self._form == "text" else (j,) if self._form == "list" else ("paths", j)

    def faculty_embedder(self) -> str | bool | None:
        """The faculty's ``embedder`` argument: a kind, False for words alone, None for the setting."""
        return False if self.embedder == "none" else self.embedder


class WithDocuments(StrictModel):
    """The ``documents`` field of an agent entry and of a whole scenario."""

    documents: DocumentsSpec | None = Field(None, description="folders or files to CONSULT (relative to the file)")


class ImageSpec(StrictModel):
    """An image every agent is shown before the script, with its caption."""

    file: NonEmpty = Field(description="an image file (PNG, JPEG, GIF, WebP, BMP), relative to the scenario")
    description: NonEmpty = Field(description="what a text-only model reads instead of the pixels")


class WithGrounding(WithDocuments):
    """A scenario's shared ``documents`` and its ``images``."""

    images: list[ImageSpec] = Field(default_factory=list, max_length=20, description="shown to everyone first")


class ConsultItems(StrictModel):
    """The ``consult`` script step (a base of ``ScriptItem``)."""

    consult: dict[NonEmpty, NonEmpty] | None = Field(None, min_length=1, description="{agent name or '*': question}")


# ---------------------------------------------------------------------------------- checks
def _specs(scenario: Scenario) -> list[tuple[Loc, DocumentsSpec]]:
    found: list[tuple[Loc, DocumentsSpec]] = [(("documents",), scenario.documents)] if scenario.documents else []
    return found + [(("agents", i, "documents"), e.documents) for i, e in enumerate(scenario.agents) if e.documents]


def _readable(target: Path) -> str | None:
    """Why the file cannot be consulted, or None."""
    try:
        source = read_file(target)
    except DocumentError as exc:
        return exc.detail
    except ConfigError as exc:  # a .docx without python-docx
        return str(exc)
    return None if source.text.strip() else "holds no text"


def _path_problem(written: str, base_dir: Path) -> str | None:
    target = base_dir / written
    try:
        is_dir, is_file = target.is_dir(), target.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        is_dir = is_file = False
    if is_file:
        why = _readable(target)
        return None if why is None else f"{_short(written)} cannot be read: {why}"
    if not is_dir:
        return f"no file or folder {_short(written)} next to the scenario (in {base_dir.resolve()})"
    try:
        root, files = folder_files(target)
    except DocumentError as exc:
        return f"{_short(written)}: {exc.detail}"
    skipped: list[str] = []
    for path in files:  # one readable file is enough: ingestion skips (and logs) the others
        why = (f"cannot read {path.suffix or 'suffix-less'} files" if path.suffix.lower() not in SUPPORTED_SUFFIXES
               else _readable(path))
        if why is None:
            return None
        skipped.append(f"{path.relative_to(root).as_posix()} ({why})")
    if not files:
        return f"the folder {_short(written)} is empty: nothing to consult"
    more = f"; and {len(skipped) - _NAMED_SKIPS} more" if len(skipped) > _NAMED_SKIPS else ""
    return f"nothing readable in the folder {_short(written)}: " + "; ".join(skipped[:_NAMED_SKIPS]) + more


def _doc_files(written: str, base_dir: Path) -> dict[str, Path]:
    """The documents ``written`` gives a store, by the id the store gives them (a file: its name; a
    folder: its files' paths in it), each with its file; none when ``written`` cannot be read."""
    target = base_dir / written
    try:
        if target.is_file():
            return {target.name: target.resolve()}
        root, files = folder_files(target)
    except (OSError, ValueError, DocumentError):
        return {}  # _path_problem says why
    return {p.relative_to(root).as_posix(): p.resolve() for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES}


def _id_problems(specs: list[tuple[Loc, DocumentsSpec]], base_dir: Path) -> list[tuple[Loc, str]]:
    # A store keeps one document per id (a second one replaces the first), and a consultation labels an
    # agent's passages and the shared ones alike: two files with one id would lose one, or read as one.
    problems: list[tuple[Loc, str]] = []
    shared: dict[str, tuple[str, Path]] = {}
    for loc, spec in specs:
        seen: dict[str, tuple[str, Path]] = {}
        for j, written in enumerate(spec.paths):
            for doc_id, file in _doc_files(written, base_dir).items():
                other = seen.get(doc_id) or shared.get(doc_id)
                if other is not None and other[1] != file:
                    where = "" if doc_id in seen else "the shared "
                    problems.append(((*loc, *spec.path_loc(j)), f"{_short(written)} holds a document called "
                                     f"{_short(doc_id)}, as {where}{_short(other[0])} does; one would replace or "
                                     "be cited as the other: rename one of the files"))
                    break
                seen.setdefault(doc_id, (written, file))
        if loc == ("documents",):
            shared = seen
    return problems


def file_problems(scenario: Scenario, base_dir: Path) -> list[tuple[Loc, str]]:
    """Documents that cannot be consulted and images that cannot be shown, with their locations.

    Example:
        >>> from tinytroupe.scenario.model import Scenario
        >>> s = Scenario.model_validate({"name": "x", "agents": [{"persona": {"name": "Ana"}}],
        ...                              "documents": "missing/", "script": [{"run": 1}]})
        >>> file_problems(s, Path("/tmp"))
        [(('documents',), "no file or folder 'missing/' next to the scenario (in /tmp)")]
    """
    problems: list[tuple[Loc, str]] = []
    for loc, spec in _specs(scenario):
        problems += [((*loc, *spec.path_loc(j)), problem) for j, written in enumerate(spec.paths)
                     if (problem := _path_problem(written, base_dir)) is not None]
    problems += _id_problems(_specs(scenario), base_dir)
    limits = ImageLimits.from_settings(current_settings().vision)  # the limits see() will apply
    for j, image in enumerate(scenario.images):
        try:
            load_image(base_dir / image.file, limits)
        except ImageError as exc:
            missing = f"no image file {_short(image.file)} next to the scenario (in {base_dir.resolve()})"
            problems.append((("images", j, "file"), missing if exc.reason == "missing"
                             else f"{_short(image.file)}: {exc.detail}"))
    return problems


def consult_problems(scenario: Scenario, documented: dict[str, bool], everyone_known: bool = True
                     ) -> list[tuple[Loc, str]]:
    """``consult`` steps naming someone with nothing to consult. ``documented`` says, for each agent name
    known, whether it has documents of its own; ``everyone_known`` is False when a population's members
    are not among them (they have only the shared documents)."""
    if scenario.documents is not None:
        return []  # everyone has the shared documents
    problems: list[tuple[Loc, str]] = []
    hint = "give it 'documents:' or the scenario a shared top-level 'documents:'"
    for k, item in enumerate(scenario.script):
        for name in item.consult or {}:
            if name == "*":
                without = sorted(n for n, has in documented.items() if not has)
                if without or not everyone_known:
                    who = ", ".join(without[:10]) or "the population's members"
                    problems.append((("script", k, "consult", name), f"'*' includes agents without documents "
                                                                     f"({who}); {hint}"))
            elif name in documented and not documented[name]:
                problems.append((("script", k, "consult", name), f"{_short(name)} has no documents to consult; "
                                                                 f"{hint}"))
    return problems


def check_grounding(scenario: Scenario, base_dir: Path, agents: Sequence[TinyPerson] | None = None) -> None:
    """Raise before the first model call when a document or image cannot be used (or, given the built
    ``agents``, a ``consult`` step names one without documents): a scenario made in Python is checked
    as :func:`~tinytroupe.scenario.loader.load_scenario` checks a file, without the line.

    Raises:
        ScenarioError: with ``field`` naming the first problem (``agents.0.documents.1``).
    """
    problems = file_problems(scenario, base_dir) if agents is None else consult_problems(
        scenario, {a.name: grounding_of(a) is not None for a in agents})
    if problems:
        lines = [f"{'.'.join(map(str, loc))}: {message}" for loc, message in problems[:20]]
        raise ScenarioError("invalid scenario: " + "\n".join(lines), field=".".join(map(str, problems[0][0])))


# ---------------------------------------------------------------------------------- running
def _embedder(kind: str | bool | None, context: RunContext) -> Embedder | None:
    if kind is False:
        return None
    from tinytroupe.agent.memory.indexing import shared_embedder  # the same embedders the agents' memories use

    return shared_embedder(kind if isinstance(kind, str) else context.settings.memory.embedder)


class SharedDocuments:
    """A scenario's shared documents: one store (``world:<name>``, in the run file while a simulation
    runs) that every agent's faculty consults as a retriever; read and embedded by :meth:`open`, or on
    first use.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "faq.md").write_text("Rinse the cap by hand: it holds the battery.")
        >>> spec = DocumentsSpec.model_validate({"paths": ["faq.md"], "embedder": "none"})
        >>> shared = SharedDocuments("Office", spec, folder, current_context())
        >>> shared.name, [hit.chunk.chunk_id for hit in shared.retrieve("how do I wash the cap?", top_k=1)]
        ('world:Office', ['faq.md#1'])
    """

    def __init__(self, world_name: str, spec: DocumentsSpec, base_dir: Path, context: RunContext) -> None:
        self.name = f"world:{world_name}"
        self.spec = spec
        self.paths = [(base_dir / p).resolve() for p in spec.paths]
        self._context = context
        self._store: DocumentStore | None = None
        self._lock = threading.Lock()

    def open(self) -> tuple[DocumentStore, list[str], list[tuple[str, str]]]:
        """The store, with the documents added now and the files skipped (both empty once it is open)."""
        with self._lock:
            if self._store is not None:
                return self._store, [], []
            store = DocumentStore.for_context(self.name, self._context,
                                              embedder=_embedder(self.spec.faculty_embedder(), self._context))
            added: list[str] = []
            skipped: list[tuple[str, str]] = []
            for path in self.paths:
                report = store.ingest_folder(path) if path.is_dir() else store.ingest_file(path)
                added += report.added
                skipped += report.skipped
            self._store = store
            return store, added, skipped

    def retrieve(self, query: str, top_k: int = 5) -> list[ChunkHit]:
        """The ``top_k`` best passages for ``query`` (reading the documents first if not yet read)."""
        return self.open()[0].retrieve(query, top_k)


def give_documents(scenario: Scenario, agents: Sequence[TinyPerson], base_dir: Path) -> None:
    """Give ``agents`` (in :func:`~tinytroupe.scenario.runner.build_agents` order: the scenario's
    ``agents`` entries first) a :class:`FilesAndWebGroundingFaculty` over their own documents and the
    shared ones. Nothing is read yet: own documents on first use, shared ones by :func:`open_documents`."""
    shared_spec = scenario.documents
    shared = SharedDocuments(scenario.world.name, shared_spec, base_dir, current_context()) if shared_spec else None
    for i, agent in enumerate(agents):
        own = scenario.agents[i].documents if i < len(scenario.agents) else None
        spec = own or shared_spec
        if spec is None:
            continue
        paths = [(base_dir / p).resolve() for p in (own.paths if own else [])]
        agent.add_mental_faculty(FilesAndWebGroundingFaculty(
            [p for p in paths if p.is_dir()], files_paths=[p for p in paths if not p.is_dir()],
            retrievers=[shared] if shared is not None else [], top_k=spec.top_k, embedder=spec.faculty_embedder()))


def grounding_of(agent: TinyPerson) -> FilesAndWebGroundingFaculty | None:
    """``agent``'s document faculty, if it has one."""
    return next((f for f in agent.mental_faculties if isinstance(f, FilesAndWebGroundingFaculty)), None)


def open_documents(world: TinyWorld) -> None:
    """Read the shared documents now, before the script (an ``ingest`` event in the trace), so that no
    turn waits for them and a file that went missing since the check fails before any step."""
    opened: set[int] = set()
    for agent in world.agents:
        faculty = grounding_of(agent)
        for shared in (r for r in (faculty.retrievers if faculty else []) if isinstance(r, SharedDocuments)):
            if id(shared) in opened:
                continue
            opened.add(id(shared))
            store, added, skipped = shared.open()
            world.bus.publish(DocumentEvent(operation="ingest", collection=store.collection, documents=added,
                                            skipped=skipped, world=world.name, step=world.current_step))


def consult(agent: TinyPerson, question: str) -> None:
    """``agent`` consults its documents with ``question`` (a ``consult`` step), as its own ``CONSULT`` would.

    Raises:
        ScenarioError: the agent has no documents.
    """
    faculty = grounding_of(agent)
    if faculty is None:
        raise ScenarioError(f"the script asks {agent.name} to consult documents, but {agent.name} has none; give "
                            "it 'documents:' or the scenario a shared 'documents:'", field="script")
    faculty.process_action(agent, Action(type="CONSULT", content=question))


async def show_images(scenario: Scenario, world: TinyWorld, base_dir: Path) -> None:
    """Show every agent the scenario's ``images`` (one ``VISUAL`` memory each), before the script."""
    for image in scenario.images:
        for agent in world.agents:
            await agent.asee(image=str((base_dir / image.file).resolve()), description=image.description)


async def start_grounding(scenario: Scenario, world: TinyWorld, base_dir: Path) -> None:
    """Before the script: read the shared documents (:func:`open_documents`) and show the images
    (:func:`show_images`)."""
    open_documents(world)
    await show_images(scenario, world, base_dir)


def consult_tokens(scenario: Scenario, item: ScriptItem, names: Sequence[str]) -> dict[str, int]:
    """What a ``consult`` step adds to each agent's prompt, at most (for ``--estimate``): ``top_k``
    passages of a full chunk each, within what one consultation shows."""
    cap = tokens_for_chars(MAX_CONSULT_CHARS)
    own = {name: e.documents for name, e in zip(names, scenario.agents, strict=False)}
    out: dict[str, int] = {}
    for target in item.consult or {}:
        for name in (names if target == "*" else [target]):
            spec = own.get(name) or scenario.documents
            top_k = spec.top_k if spec is not None else 0
            out[name] = out.get(name, 0) + min(top_k * CHUNK_TOKENS, cap) + top_k * _LABEL_TOKENS
    return out


__all__ = ["ConsultItems", "DocumentsSpec", "ImageSpec", "SharedDocuments", "WithDocuments", "WithGrounding",
           "check_grounding", "consult", "consult_problems", "consult_tokens", "file_problems", "give_documents",
           "grounding_of", "open_documents", "show_images", "start_grounding"]
