"""A recipe for an :class:`~tinytroupe.llm.client.LLMClient` that can travel to another process.

A client holds sockets, locks and an event bus, so it cannot be sent to a worker process; a
:class:`ClientSpec` can. It holds the :class:`~tinytroupe.config.Settings` as data (secrets stay
:class:`~pydantic.SecretStr` values: they travel to the worker, which reads them, but every repr
masks them) and, for backends that settings cannot describe (the scripted and demo backends), a
picklable factory of the bare backend. Every worker that builds the client from one spec reaches
the same endpoint with the same wrappers (retries, limits, cache).

Example:
    >>> from tinytroupe.config import Settings
    >>> from tinytroupe.llm.demo import demo_backend
    >>> spec = ClientSpec.from_settings(Settings(), backend_factory=demo_backend)
    >>> spec.build().describe()["backend"]
    'scripted'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from tinytroupe.config import Settings
from tinytroupe.events import EventBus
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.factory import build_client

BackendFactory = Callable[[], Backend]


class ClientSpec(BaseModel):
    """Settings (as data) plus an optional backend factory: enough to build the same client anywhere.

    Args:
        settings: ``Settings.model_dump()`` (python mode, so secrets stay masked ``SecretStr``).
        backend_factory: a picklable callable returning the bare backend (e.g. ``demo_backend`` or a
            ``functools.partial(ScriptedBackend, responder)``); None builds the backend the settings
            describe. With a factory each worker gets its *own* backend: a list of scripted replies
            is replayed per worker, so use a responder that answers from the request alone.
        cache_path: the response cache file (None: as the settings say).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    settings: dict[str, Any]
    backend_factory: BackendFactory | None = None
    cache_path: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, backend_factory: BackendFactory | None = None,
                      cache_path: str | None = None) -> ClientSpec:
        """The spec of ``build_client(settings, backend=backend_factory(), cache_path=...)``.

        With no factory, ``api_type=scripted`` settings rebuild the deterministic demo model, as
        :func:`~tinytroupe.llm.factory.build_backend` does.
        """
        # python mode keeps SecretStr objects: the key travels as a value, never as visible text.
        return cls(settings=settings.model_dump(), backend_factory=backend_factory, cache_path=cache_path)

    def to_settings(self) -> Settings:
        """The settings this spec carries."""
        return Settings.model_validate(self.settings)

    def build(self, *, bus: EventBus | None = None, budget_share: bool = False) -> LLMClient:
        """A new client for this spec (its own ledger and bus unless ``bus`` is given); with ``budget_share``,
        one whose budget wrapper a worker arms per request (see :func:`~tinytroupe.llm.factory.wrap_backend`)."""
        backend = self.backend_factory() if self.backend_factory is not None else None
        return build_client(self.to_settings(), bus=bus, backend=backend, cache_path=self.cache_path,
                            budget_share=budget_share)


__all__ = ["BackendFactory", "ClientSpec"]
