"""Helpers for testing live behaviour: chat sockets, group frames, waiting on stored state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from chatsite.asgi import application
from conversations.chat.generation import conversation_group


@database_sync_to_async
def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(user: Any, path: str) -> WebsocketCommunicator:
    """A chat socket as the browser opens it: same-origin, with the user's session cookie."""
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", f"sessionid={await session_cookie(user)}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def wait_until(
    check: Callable[[], Awaitable[Any]], *, within: float = 10.0, what: str = "condition"
) -> Any:
    """Poll an async check until it returns something truthy, failing after a deadline."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def receive_until(
    socket: WebsocketCommunicator, text: str, *, within: float = 10.0, times: int = 1
) -> list[str]:
    """Every frame the socket receives until `text` has appeared `times` times in all of them."""
    frames: list[str] = []
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no frame containing {text!r}; got {frames!r}")
        try:
            frame = await socket.receive_from(timeout=remaining)
        except TimeoutError:
            raise AssertionError(f"no frame containing {text!r}; got {frames!r}") from None
        frames.append(frame)
        if "".join(frames).count(text) >= times:
            return frames


class GroupListener:
    """Listens to a conversation's group the way a socket would, without a socket."""

    def __init__(self, conversation_id: Any) -> None:
        self.conversation_id = conversation_id
        self.layer = get_channel_layer()
        self.channel = ""
        self.frames: list[dict[str, Any]] = []

    async def __aenter__(self) -> GroupListener:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(conversation_group(self.conversation_id), self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.layer.group_discard(conversation_group(self.conversation_id), self.channel)

    async def until(self, text: str, within: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while not any(text in frame["html"] for frame in self.frames):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no frame containing {text!r}")
            async with asyncio.timeout(remaining):
                self.frames.append(await self.layer.receive(self.channel))
        return self.frames
