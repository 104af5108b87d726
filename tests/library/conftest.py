"""Fixtures for the model library: admin clients and sockets, and a listener on the models
page's group."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.test import AsyncClient

from chatsite.jobs import running_tasks
from chatsite.library.frames import MODELS_GROUP


@pytest.fixture
async def no_pull_left_running() -> AsyncIterator[None]:
    """A test ends its pulls itself; a leftover would run on into the next test's database.

    A pull's row is final a moment before its task is (the audit entry and the last frames come
    after), so the task gets a few seconds to wind down before it counts as left running.
    """
    yield
    tasks = running_tasks()
    _done, leftovers = await asyncio.wait(tasks, timeout=5) if tasks else (set(), set())
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert not leftovers, "a pull task was still running at the end of the test"


@pytest.fixture
async def admin_async(admin_user) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(admin_user)
    return client


class ModelsGroupListener:
    """Hears the models page's group the way an admin's socket would, without a socket."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel = ""
        self.frames: list[str] = []

    async def __aenter__(self) -> ModelsGroupListener:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(MODELS_GROUP, self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.layer.group_discard(MODELS_GROUP, self.channel)

    async def until(self, text: str, within: float = 5.0) -> list[str]:
        deadline = time.monotonic() + within
        while not any(text in frame for frame in self.frames):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no frame containing {text!r} in {self.frames!r}")
            async with asyncio.timeout(remaining):
                event: dict[str, Any] = await self.layer.receive(self.channel)
            self.frames.append(event["html"])
        return self.frames


@pytest.fixture
def models_group() -> ModelsGroupListener:
    return ModelsGroupListener()
