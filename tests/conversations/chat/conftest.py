"""Fixtures for the chat tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chatsite.jobs import running_tasks


@pytest.fixture(autouse=True)
async def generations_end_with_the_test() -> AsyncIterator[None]:
    """The replies a test started, and the title asked for after a reply, end before its event
    loop closes: a leftover would run on into the next test's database and leave its connection
    to the stand-in open. A few seconds to wind down, then what is left is cancelled."""
    before = set(running_tasks())
    yield
    started = [task for task in running_tasks() if task not in before]
    if not started:
        return
    _done, leftovers = await asyncio.wait(started, timeout=5)
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*started, return_exceptions=True)
