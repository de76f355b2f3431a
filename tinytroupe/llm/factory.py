"""Building the usual client stack from :class:`~tinytroupe.config.Settings`.

The chain, outermost first: usage/events → response cache (optional) → budget (optional) → batch
mode (OpenAI-compatible backends of api_type openai or azure) → prefix meter (optional) → retries →
rate limit (optional) → concurrency limit → backend. The cache sits outside the limits so hits never
wait for a slot; retries sit outside the limits so a request backing off does not hold one. The
budget sits inside the cache (a hit costs nothing) and outside batches and retries (a request is one
call, however many attempts, and a refused one is never queued); batch mode sits outside the retries
and limits, so every call of a step is queued for its batch at once (it passes calls through
unchanged outside :func:`~tinytroupe.llm.batch.batch_mode`); the prefix meter sees what is sent to
the model.

Example:
    >>> from tinytroupe.config import Settings
    >>> from tinytroupe.llm import ScriptedBackend
    >>> client = build_client(Settings(), backend=ScriptedBackend(["ok"]))
    >>> client.complete([{"role": "user", "content": "hi"}]).value
    'ok'
"""

from __future__ import annotations

from pathlib import Path

from tinytroupe.config import Settings, load_settings, resolved_api_type
from tinytroupe.errors import ConfigError
from tinytroupe.events import EventBus
from tinytroupe.llm.backend import Backend
from tinytroupe.llm.batch import BatchWrapper
from tinytroupe.llm.budget import Budget, BudgetWrapper
from tinytroupe.llm.cache import CacheWrapper, ResponseCache
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.demo import demo_backend
from tinytroupe.llm.limits import ConcurrencyLimit, RateLimit
from tinytroupe.llm.local_backend import LocalBackend
from tinytroupe.llm.openai_backend import OpenAIBackend
from tinytroupe.llm.prefix import PrefixMeter
from tinytroupe.llm.prices import DEFAULT_PRICES, PriceTable, load_price_table
from tinytroupe.llm.retry import RetryWrapper


def build_backend(settings: Settings) -> Backend:
    """The bare backend the settings ask for (no wrappers)."""
    api = resolved_api_type(settings)
    o = settings.openai
    if api == "local":
        loc = settings.local
        return LocalBackend(model_path=loc.model_path, n_ctx=loc.n_ctx, n_threads=loc.n_threads,
                            temperature=loc.temperature, seed=settings.simulation.seed)
    if api == "scripted":
        # The deterministic demo model, as `tinytroupe run --backend scripted` uses: a script or a
        # docs example can then run with no key and no model. Tests that need particular answers pass
        # their own ScriptedBackend to build_client().
        return demo_backend(seed=settings.simulation.seed)
    default_model = type(o).model_fields["model"].default
    if api == "ollama" and o.model == default_model and settings.origin("openai.model") == "default":
        # The default model is an OpenAI name; Ollama would answer "model not found" on every call.
        raise ConfigError(
            f"api_type 'ollama' needs a model you have pulled (e.g. llama3.1:8b): pass --model or set "
            f"[OpenAI] MODEL (or TINYTROUPE_OPENAI__MODEL); the default {o.model!r} is an OpenAI model",
            section="OpenAI", key="MODEL")
    return OpenAIBackend(
        model=o.model,
        base_url=o.base_url,
        api_key=o.api_key.get_secret_value() if o.api_key else None,
        api_type=api,
        azure_endpoint=o.azure_endpoint,
        azure_api_key=o.azure_api_key.get_secret_value() if o.azure_api_key else None,
        azure_api_version=o.azure_api_version,
        timeout=o.timeout,
        structured_output=o.structured_output,
        temperature=o.temperature,
        max_tokens=o.max_completion_tokens,
        # As many connections as calls may be in flight (0: no limit either way).
        max_connections=o.max_concurrent_model_calls,
    )


def settings_budget(settings: Settings) -> Budget:
    """The ``[Budget]`` limits of ``settings`` as a :class:`Budget` (no limit set: an unlimited one).

    Example:
        >>> settings_budget(Settings(budget={"max_calls": 10}))
        Budget(max_cost_usd=None, max_calls=10, max_tokens=None)
    """
    b = settings.budget
    return Budget(max_cost_usd=b.max_cost_usd, max_calls=b.max_calls, max_tokens=b.max_tokens)


def settings_prices(settings: Settings, prices_file: str | Path | None = None) -> PriceTable:
    """The price table in force: ``prices_file`` (else ``[Budget] PRICES_FILE``) laid over the built-in one.

    Raises:
        ConfigError: the price file is missing or wrong (file, line and field are named).
    """
    path = prices_file if prices_file is not None else settings.budget.prices_file
    return load_price_table(path) if path else DEFAULT_PRICES


def wrap_backend(backend: Backend, settings: Settings, *, cache_path: str | Path | None = None,
                 budget: Budget | None = None, prices: PriceTable | None = None,
                 measure_prefixes: bool = False, budget_share: bool = False) -> Backend:
    """``backend`` inside the retry, limit and (when enabled or ``cache_path`` is given) cache wrappers;
    with a ``budget`` that has a limit, a :class:`BudgetWrapper` priced with ``prices``; with
    ``measure_prefixes``, a :class:`PrefixMeter`. With ``budget_share`` there is a :class:`BudgetWrapper`
    even without a limit, where a budget goes, for a worker to arm with its share of a driver's budget
    (:meth:`BudgetWrapper.arm`); unarmed, it only counts the calls.

    Raises:
        ConfigError: the budget has a cost limit and the model has no price in ``prices``.
    """
    o = settings.openai
    is_local = backend.name == "local"
    limit = settings.local.max_concurrent_model_calls if is_local else o.max_concurrent_model_calls
    # Adaptive limits answer a server's overload; the embedded model has no server to overload.
    chain: Backend = ConcurrencyLimit(backend, limit, adaptive=o.adaptive_concurrency and not is_local)
    if o.requests_per_minute or o.tokens_per_minute:
        chain = RateLimit(chain, requests_per_minute=o.requests_per_minute,
                          tokens_per_minute=o.tokens_per_minute)
    chain = RetryWrapper(chain, max_attempts=o.max_attempts)
    if isinstance(backend, OpenAIBackend) and backend.api_type in ("openai", "azure"):  # Ollama has no batch API
        chain = BatchWrapper(chain)
    if measure_prefixes:  # outside the batch layer, which answers batched calls without the inner chain
        chain = PrefixMeter(chain)
    if budget_share or (budget is not None and budget.limited):
        chain = BudgetWrapper(chain, budget if budget is not None else Budget(), prices=prices,
                              completion_tokens=o.max_completion_tokens)
    if cache_path is not None or o.cache_api_calls:
        path = cache_path if cache_path is not None else o.cache_file_name
        chain = CacheWrapper(chain, ResponseCache(path, max_entries=o.cache_max_entries,
                                                  max_bytes=o.cache_max_bytes))
    return chain


def build_client(settings: Settings | None = None, *, bus: EventBus | None = None,
                 backend: Backend | None = None, cache_path: str | Path | None = None,
                 budget: Budget | None = None, prices: PriceTable | None = None,
                 measure_prefixes: bool = False, budget_share: bool = False) -> LLMClient:
    """An :class:`LLMClient` for ``settings`` (loaded from files and environment when None).

    ``backend`` replaces the configured backend (e.g. a ScriptedBackend); it is wrapped the same way.
    ``budget``, ``prices``, ``measure_prefixes`` and ``budget_share`` are as for :func:`wrap_backend`.
    """
    settings = settings if settings is not None else load_settings()
    chain = wrap_backend(backend if backend is not None else build_backend(settings), settings,
                         cache_path=cache_path, budget=budget, prices=prices, measure_prefixes=measure_prefixes,
                         budget_share=budget_share)
    return LLMClient(chain, bus=bus, max_reasks=settings.openai.max_reasks)


__all__ = ["build_backend", "build_client", "settings_budget", "settings_prices", "wrap_backend"]
