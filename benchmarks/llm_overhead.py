"""How much time tinytroupe's LLM stack adds on top of a bare OpenAI SDK client.

A mock OpenAI-compatible server (``tinytroupe.devtools.mock_openai_server``, in a subprocess so it
does not share this process's GIL) answers every request after a fixed latency. The same N
structured calls go through

* our full stack: ``LLMClient`` over the usual wrappers and ``OpenAIBackend`` (built by
  ``tinytroupe.llm.factory.build_client`` when available), and
* a bare ``openai.AsyncOpenAI`` client sending the same ``json_schema`` request and validating the
  answer with the same pydantic model,

at concurrency 1 and 64. Then cache hits are timed through the full stack with a response cache.

Usage::

    python benchmarks/llm_overhead.py [--quick] [--latency-ms 20] [--calls 1000]

The last line printed is one JSON object: ``overhead_ratio_c1``, ``overhead_ratio_c64`` (our wall
time / bare wall time), ``cache_hit_p50_ms``, ``cache_hit_p99_ms`` (null when no cache is available).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# Run from a checkout without installing: make the repository importable here and in the server.
ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("tinytroupe") is None:
    sys.path.insert(0, str(ROOT))

from tinytroupe.devtools.mock_openai_server import spawn_mock_server  # noqa: E402
from tinytroupe.llm import LLMClient  # noqa: E402
from tinytroupe.llm.backend import Backend  # noqa: E402
from tinytroupe.llm.openai_backend import OpenAIBackend  # noqa: E402
from tinytroupe.llm.retry import RetryWrapper  # noqa: E402
from tinytroupe.llm.structured import strict_schema  # noqa: E402

API_KEY = "sk-benchmark"
MODEL = "mock-model"


class Opinion(BaseModel):
    """The structured answer every call asks for."""

    stance: str
    score: int
    reasons: list[str]


def _messages(i: int) -> list[dict[str, str]]:
    # A distinct prompt per call, so no cache along the way can answer from an earlier call.
    return [{"role": "system", "content": "You are Ana, a 34-year-old architect from Lisbon."},
            {"role": "user", "content": f"Question {i}: what do you think of the new bicycle lanes?"}]


def start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    return spawn_mock_server(latency_ms, extra_path=str(ROOT))


def build_stack(base_url: str, cache_path: Path | None = None) -> tuple[LLMClient, str]:
    """Our full client stack; through the factory when it can be used, else composed by hand."""
    try:
        from tinytroupe.config import Settings
        from tinytroupe.llm.factory import build_client

        # No concurrency cap (0): the bare client has none either.
        openai_section = {"api_type": "openai", "model": MODEL, "base_url": base_url,
                          "max_concurrent_model_calls": 0}
        settings = Settings.model_validate({"openai": openai_section})
        backend = OpenAIBackend(model=MODEL, base_url=base_url, api_key=API_KEY)
        return build_client(settings, backend=backend, cache_path=cache_path), "factory.build_client"
    except Exception as exc:  # the factory is optional here: report it and compose by hand
        print(f"(factory unavailable: {type(exc).__name__}: {exc}; composing the stack by hand)")
    chain: Backend = RetryWrapper(OpenAIBackend(model=MODEL, base_url=base_url, api_key=API_KEY))
    if cache_path is not None:
        from tinytroupe.llm.cache import CacheWrapper, ResponseCache

        chain = CacheWrapper(chain, ResponseCache(cache_path))
    return LLMClient(chain), "LLMClient(RetryWrapper(OpenAIBackend))"


async def run_calls(call: Callable[[int], Awaitable[Any]], n: int, concurrency: int, offset: int) -> float:
    """Wall seconds for ``n`` calls with at most ``concurrency`` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await call(offset + i)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start


async def measure(base_url: str, n_c1: int, n_c64: int, rounds: int) -> dict[str, Any]:
    import openai

    ours, stack = build_stack(base_url)
    bare = openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)
    response_format = {"type": "json_schema", "json_schema": {
        "name": "Opinion", "schema": strict_schema(Opinion.model_json_schema()), "strict": True}}

    async def ours_call(i: int) -> None:
        result = await ours.acomplete(_messages(i), response_model=Opinion)
        assert isinstance(result.value, Opinion)

    async def bare_call(i: int) -> None:
        params: dict[str, Any] = {"model": MODEL, "messages": _messages(i),
                                  "response_format": response_format}
        response = await bare.chat.completions.create(**params)
        Opinion.model_validate_json(response.choices[0].message.content or "")

    offset = 0
    for warm in (ours_call, bare_call):  # imports, connection pools, first-call costs
        await run_calls(warm, 10, 4, offset)
        offset += 10
    figures: dict[str, Any] = {"stack": stack}
    for concurrency, n in ((1, n_c1), (64, n_c64)):
        best = {"ours": float("inf"), "bare": float("inf")}
        for round_no in range(rounds):
            # Alternate the two (and who goes first) so drift in machine load hits both alike;
            # keep each one's best round.
            pair = [("bare", bare_call), ("ours", ours_call)]
            for name, call in pair if round_no % 2 == 0 else pair[::-1]:
                wall = await run_calls(call, n, concurrency, offset)
                offset += n
                best[name] = min(best[name], wall)
        figures[f"c{concurrency}"] = {
            "calls": n,
            "bare_wall_s": round(best["bare"], 4), "ours_wall_s": round(best["ours"], 4),
            "bare_ms_per_call": round(1000 * best["bare"] / n, 3),
            "ours_ms_per_call": round(1000 * best["ours"] / n, 3),
            "added_ms_per_call": round(1000 * (best["ours"] - best["bare"]) / n, 3),
            "ratio": round(best["ours"] / best["bare"], 4),
        }
    await ours.aclose()
    await bare.close()
    return figures


async def measure_cache_hits(base_url: str, n: int) -> dict[str, float] | None:
    if importlib.util.find_spec("tinytroupe.llm.cache") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        client, _ = build_stack(base_url, cache_path=Path(tmp) / "cache.sqlite")
        for i in range(n):  # fill the cache
            await client.acomplete(_messages(i), response_model=Opinion)
        latencies = []
        for i in range(n):
            start = time.perf_counter()
            result = await client.acomplete(_messages(i), response_model=Opinion)
            latencies.append(1000 * (time.perf_counter() - start))
            if not result.cached:
                raise RuntimeError(f"call {i} was expected to be a cache hit but reached the server")
        await client.aclose()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return {"p50": statistics.median(latencies), "p99": p99, "calls": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (finishes in well under a minute)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the mock server's latency per answer")
    parser.add_argument("--calls", type=int, default=None,
                        help="calls per measurement (default 1000; quick: 640, and 64 at concurrency 1)")
    args = parser.parse_args()
    n = args.calls or (640 if args.quick else 1000)
    n_c1 = max(20, n // 10) if args.quick else n  # concurrency 1 is latency-bound: fewer calls suffice
    rounds = 2
    proc, base_url = start_server(args.latency_ms)
    try:
        figures = asyncio.run(measure(base_url, n_c1, n, rounds))
        cache = asyncio.run(measure_cache_hits(base_url, 100 if args.quick else 1000))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"mock server latency {args.latency_ms:g} ms; stack: {figures['stack']}")
    for key in ("c1", "c64"):
        f = figures[key]
        print(f"concurrency {key[1:]:>2}: {f['calls']} calls  bare {f['bare_wall_s']:.3f} s "
              f"({f['bare_ms_per_call']:.2f} ms/call)  ours {f['ours_wall_s']:.3f} s "
              f"({f['ours_ms_per_call']:.2f} ms/call)  added {f['added_ms_per_call']:+.2f} ms/call  "
              f"ratio {f['ratio']:.3f}")
    if cache is None:
        print("cache hits: tinytroupe.llm.cache is not available")
    else:
        print(f"cache hits ({cache['calls']} calls, full stack): p50 {cache['p50']:.3f} ms  "
              f"p99 {cache['p99']:.3f} ms")
    print(json.dumps({
        "overhead_ratio_c1": figures["c1"]["ratio"],
        "overhead_ratio_c64": figures["c64"]["ratio"],
        "cache_hit_p50_ms": round(cache["p50"], 4) if cache else None,
        "cache_hit_p99_ms": round(cache["p99"], 4) if cache else None,
        "server_latency_ms": args.latency_ms,
        "calls_c1": figures["c1"]["calls"],
        "calls_c64": figures["c64"]["calls"],
        "added_ms_per_call_c1": figures["c1"]["added_ms_per_call"],
        "added_ms_per_call_c64": figures["c64"]["added_ms_per_call"],
    }))


if __name__ == "__main__":
    main()
