"""Batch runs: one model over a grid of parameters, explicit seeds and replications, into one DataFrame.

The shape is Mesa's ``batch_run``: ``parameters`` maps each name to one value (held fixed) or to a
list of values (swept: every combination runs); each combination runs once per seed in ``seeds``
and ``replications`` times per seed; the rows come back in one pandas DataFrame with ``RunId``,
``iteration``, ``seed`` and the parameters beside the collected values, one row per run, or one per
item where the collector returns several (one per agent, say).

Where it differs from Mesa: ``model_fn`` is any function (sync or ``async``) called as
``model_fn(**params, seed=run_seed)``, returning what ``data_collector`` (or, without one, the
function itself) turns into rows; seeds are always an explicit list (never drawn for you); and a run
that raises does not stop the batch: its row says ``status="failed"`` with the ``error``, and its
collected columns stay empty (NaN), never filled with made-up values.

Seeds: replication 0 of seed ``s`` runs with ``s`` itself; replication ``r > 0`` with a seed derived
from ``(s, r)`` by numpy's ``SeedSequence``, so replications differ and re-running the batch repeats
them. Column ``seed`` is the listed seed, ``run_seed`` the one the run got.

Example:
    >>> def model(n_agents: int, tone: str, seed: int) -> dict:
    ...     return {"answers": n_agents * 2, "tone_len": len(tone)}
    >>> df = batch_run(model, {"n_agents": [1, 3], "tone": "calm"}, seeds=[11, 12])
    >>> for row in df[["RunId", "iteration", "seed", "n_agents", "tone", "answers", "status"]].values.tolist():
    ...     print(row)
    [0, 0, 11, 1, 'calm', 2, 'ok']
    [1, 0, 12, 1, 'calm', 2, 'ok']
    [2, 0, 11, 3, 'calm', 6, 'ok']
    [3, 0, 12, 3, 'calm', 6, 'ok']
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tinytroupe.aio import run_sync
from tinytroupe.errors import InvalidArgument, InvalidArgumentType

logger = logging.getLogger(__name__)

#: columns every row has, besides the parameters and the collected values
RESERVED_COLUMNS = ("RunId", "iteration", "seed", "run_seed", "status", "error")


@dataclass(frozen=True)
class _Run:
    run_id: int
    iteration: int
    seed: int
    run_seed: int
    params: dict[str, Any]


def _is_sweep(value: Any) -> bool:
    # As in Mesa: strings, bytes and mappings are single values; other iterables are swept.
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping)


def _grid(parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(parameters, Mapping):
        raise InvalidArgumentType(f"parameters must be a dict of name to value or list of values, "
                                  f"got {type(parameters).__name__}")
    names, choices = [], []
    for name, value in parameters.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidArgument(f"parameter names must be identifiers (they are keyword arguments), got {name!r}")
        if name in RESERVED_COLUMNS:
            raise InvalidArgument(f"parameter {name!r} clashes with a column of the result "
                                  f"({', '.join(RESERVED_COLUMNS)}); rename it")
        values = list(value) if _is_sweep(value) else [value]
        if not values:
            raise InvalidArgument(f"parameter {name!r} sweeps over no value; give at least one")
        names.append(name)
        choices.append(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise InvalidArgumentType(f"seeds must be a list of ints, got {type(seeds).__name__}")
    listed = list(seeds)
    if not listed:
        raise InvalidArgument("seeds is empty: give the seeds explicitly, e.g. seeds=[1, 2, 3]")
    bad = [s for s in listed if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0]
    if bad:
        raise InvalidArgument(f"seeds must be non-negative ints, got {bad}")
    if len(set(listed)) != len(listed):
        raise InvalidArgument(f"seeds must be distinct, got {listed}")
    return [int(s) for s in listed]


def replication_seed(seed: int, replication: int) -> int:
    """The seed of replication ``replication`` of ``seed``: the seed itself for 0, a derived one after.

    Example:
        >>> replication_seed(42, 0), replication_seed(42, 1) == replication_seed(42, 1) != 42
        (42, True)
    """
    if replication == 0:
        return seed
    return int(np.random.SeedSequence([seed, replication]).generate_state(1, dtype=np.uint32)[0])


def _plan(parameters: Mapping[str, Any], seeds: Sequence[int], replications: int) -> list[_Run]:
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise InvalidArgument(f"replications must be an int of at least 1, got {replications!r}")
    listed = _check_seeds(seeds)
    runs: list[_Run] = []
    for params in _grid(parameters):
        for seed in listed:
            for rep in range(replications):
                runs.append(_Run(len(runs), rep, seed, replication_seed(seed, rep), params))
    return runs


async def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # Sync functions run in a worker thread: they may call the sync API (world.run), which must not
    # run on the event loop that drives it.
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    result = await asyncio.to_thread(fn, *args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def _rows(collected: Any) -> list[dict[str, Any]]:
    if collected is None:
        return [{}]
    if isinstance(collected, pd.DataFrame):
        return [{str(k): v for k, v in row.items()} for row in collected.to_dict("records")]
    if isinstance(collected, Mapping):
        return [dict(collected)]
    if isinstance(collected, Sequence) and not isinstance(collected, str | bytes) \
            and all(isinstance(item, Mapping) for item in collected):
        return [dict(item) for item in collected] or [{}]
    raise InvalidArgumentType(f"the run gave {type(collected).__name__}; return (or collect) a dict, a list of "
                              f"dicts (one row each) or a DataFrame")


async def _one(run: _Run, model_fn: Callable[..., Any], data_collector: Callable[[Any], Any] | None,
               gate: asyncio.Semaphore | None) -> list[dict[str, Any]]:
    head = {"RunId": run.run_id, "iteration": run.iteration, "seed": run.seed, "run_seed": run.run_seed,
            **run.params}
    try:
        if gate is not None:
            async with gate:
                rows = await _run_and_collect(run, model_fn, data_collector)
        else:
            rows = await _run_and_collect(run, model_fn, data_collector)
        clash = sorted({k for row in rows for k in row} & set(head))
        if clash:
            raise InvalidArgument(f"collected columns {clash} clash with the run's own columns; rename them")
    except Exception as exc:  # one failed run is recorded, the others go on
        logger.warning("batch run %d (%s, seed %d) failed: %s", run.run_id, run.params, run.run_seed, exc)
        return [{**head, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}]
    return [{**head, **row, "status": "ok", "error": None} for row in rows]


async def _run_and_collect(run: _Run, model_fn: Callable[..., Any],
                           data_collector: Callable[[Any], Any] | None) -> list[dict[str, Any]]:
    result = await _call(model_fn, **run.params, seed=run.run_seed)
    return _rows(await _call(data_collector, result) if data_collector is not None else result)


async def abatch_run(model_fn: Callable[..., Any], parameters: Mapping[str, Any], seeds: Sequence[int],
                     replications: int = 1, data_collector: Callable[[Any], Any] | None = None,
                     max_concurrency: int | None = None) -> pd.DataFrame:
    """The async twin of :func:`batch_run` (same arguments, same result)."""
    if not callable(model_fn):
        raise InvalidArgumentType(f"model_fn must be callable, got {type(model_fn).__name__}")
    if data_collector is not None and not callable(data_collector):
        raise InvalidArgumentType(f"data_collector must be callable, got {type(data_collector).__name__}")
    if max_concurrency is not None and (isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int)
                                        or max_concurrency < 1):
        raise InvalidArgument(f"max_concurrency must be None or an int of at least 1, got {max_concurrency!r}")
    runs = _plan(parameters, seeds, replications)
    if max_concurrency is None and not inspect.iscoroutinefunction(model_fn):
        max_concurrency = 1  # sync functions run one at a time unless asked otherwise
    gate = asyncio.Semaphore(max_concurrency) if max_concurrency is not None else None
    per_run = await asyncio.gather(*(_one(run, model_fn, data_collector, gate) for run in runs))
    frame = pd.DataFrame([row for rows in per_run for row in rows])
    first = ["RunId", "iteration", "seed", "run_seed", *runs[0].params]
    rest = [c for c in frame.columns if c not in (*first, "status", "error")]
    frame = frame[[*first, *rest, "status", "error"]]
    failed = frame.loc[frame["status"] == "failed", ["RunId", "error"]]
    frame.attrs["failures"] = failed.to_dict("records")
    if len(failed):
        logger.warning("%d of %d batch runs failed (rows with status 'failed')", len(failed), len(runs))
    return frame


def batch_run(model_fn: Callable[..., Any], parameters: Mapping[str, Any], seeds: Sequence[int],
              replications: int = 1, data_collector: Callable[[Any], Any] | None = None,
              max_concurrency: int | None = None) -> pd.DataFrame:
    """Run ``model_fn`` for every parameter combination, seed and replication; one DataFrame of results.

    Args:
        model_fn: called as ``model_fn(**params, seed=run_seed)``; sync or ``async``. Sync functions run
            in worker threads, so they may use the sync API (``world.run(...)``).
        parameters: name → value (fixed) or list of values (swept). Strings and dicts are single values.
        seeds: the seeds, explicitly; each combination runs once per seed (and per replication).
        replications: runs per (combination, seed); replication ``r`` gets :func:`replication_seed`.
        data_collector: turns a run's return value into a dict (one row), a list of dicts (one row
            each, e.g. per agent) or a DataFrame; without it the return value itself is used.
        max_concurrency: how many runs at once; None: all at once for ``async`` functions (the LLM
            client bounds the calls in flight), one at a time for sync ones.

    Returns:
        A DataFrame with ``RunId``, ``iteration`` (the replication), ``seed``, ``run_seed``, the
        parameters, the collected columns, ``status`` (``ok`` or ``failed``) and ``error``; rows in
        ``RunId`` order. ``frame.attrs["failures"]`` lists the failed runs.

    Raises:
        InvalidArgument: bad parameters, seeds, replications or max_concurrency (before any run starts).
    """
    return run_sync(abatch_run(model_fn, parameters, seeds, replications, data_collector, max_concurrency))


__all__ = ["RESERVED_COLUMNS", "abatch_run", "batch_run", "replication_seed"]
