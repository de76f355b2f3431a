"""Lazy process singletons and per-event-loop values: one helper each, used across the package."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

from tinytroupe.lazy import Lazy, PerLoop


def test_racing_threads_make_the_value_once() -> None:
    made: list[int] = []
    gate = threading.Barrier(8)

    def slow_factory() -> object:
        made.append(1)
        return object()

    lazy: Lazy[object] = Lazy(slow_factory)

    def take() -> object:
        gate.wait()
        return lazy()

    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: take(), range(8)))
    assert len(made) == 1 and all(v is values[0] for v in values)


def test_set_replaces_and_none_makes_again() -> None:
    lazy = Lazy(lambda: "made")
    assert lazy.peek() is None
    assert lazy.set("given") is None and lazy() == "given"
    assert lazy.set(None) == "given" and lazy() == "made"


def test_per_process_values_are_made_again_after_a_fork() -> None:
    lazy = Lazy(object, per_process=True)
    first = lazy()
    with mock.patch("os.getpid", return_value=os.getpid() + 1):
        assert lazy.peek() is None
        assert lazy() is not first


def test_per_loop_values_differ_between_loops_and_go_with_them() -> None:
    locks = PerLoop(asyncio.Lock)

    async def mine() -> asyncio.Lock:
        assert locks.get() is locks.get()
        return locks.get()

    first, second = asyncio.run(mine()), asyncio.run(mine())
    assert first is not second

    async def popped() -> bool:
        made = locks.get()
        return locks.pop() is made and locks.pop() is None

    assert asyncio.run(popped())


def test_per_loop_remembered_value_follows_pop_and_the_loop() -> None:
    # The remembered last (loop, value) must not outlive a pop (a later get makes a new value) nor
    # the loop (its value is freed with it, as the weak dictionary alone would free it).
    import gc
    import weakref

    class Value:
        pass

    values = PerLoop(Value)

    async def popped_then_made_again() -> bool:
        made = values.get()
        assert values.get() is made
        assert values.pop() is made
        return values.get() is not made

    assert asyncio.run(popped_then_made_again())

    async def one() -> weakref.ref[Value]:
        return weakref.ref(values.get())

    gone = asyncio.run(one())
    gc.collect()
    assert gone() is None and len(values) == 0


def test_per_loop_threads_with_their_own_loops_get_their_own_values() -> None:
    values = PerLoop(object)
    gate = threading.Barrier(4)

    def run() -> bool:
        async def take() -> bool:
            mine = values.get()
            gate.wait()  # every thread has asked once: the remembered loop is another thread's now
            return all(values.get() is mine for _ in range(50))
        return asyncio.run(take())

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(lambda _: run(), range(4)))


def test_per_loop_factory_returning_none_is_asked_again() -> None:
    asked: list[int] = []
    values: PerLoop[None] = PerLoop(lambda: asked.append(1))

    async def twice() -> None:
        values.get()
        values.get()

    asyncio.run(twice())
    assert len(asked) == 2
