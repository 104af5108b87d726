"""One object per event loop, made on first use."""

from __future__ import annotations

import asyncio

from chatsite.per_loop import PerLoop


def test_each_loop_gets_its_own_object_made_once_and_pop_forgets_it():
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    per_loop = PerLoop(make)

    async def twice() -> tuple[object, object]:
        return per_loop.get(), per_loop.get()

    async def pop_then_get() -> tuple[object | None, object]:
        popped = per_loop.pop()
        return popped, per_loop.get()

    first, again = asyncio.run(twice())
    other, _ = asyncio.run(twice())
    popped, after = asyncio.run(pop_then_get())

    assert first is again and other is not first
    assert popped is None and after is made[-1]
    assert len(made) == 3
