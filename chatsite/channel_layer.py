"""The channel layer: the configured one, typed (never None), and the single-process layer made
cheap per message.

Channels' in-memory layer walks every channel and group for expired entries on each send and
receive, so each frame costs more the more people are connected (see bench/results.md). This one
sweeps at most once a second and sends to a group's members without a task per member.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer  # type: ignore[import-untyped]


def default_layer() -> BaseChannelLayer:
    """Channels' get_channel_layer(), never None: the settings always configure a default layer."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS has no default layer"
    return layer


class SweepingInMemoryChannelLayer(InMemoryChannelLayer):
    sweep_interval = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < self.sweep_interval:
            return
        self._last_sweep = now
        super()._clean_expired()  # type: ignore[misc]  # private in Channels, so not in its stubs

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, {})):
            # As in Channels: a full channel misses the message, the others still get it.
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)


class RedisPubSubLayer(RedisPubSubChannelLayer):
    """channels-redis's pub/sub layer, publishing without its per-connection lock.

    The stock layer holds one lock per Redis shard across every PUBLISH's round trip (the lock
    also guards SUBSCRIBE), so all frames of a process went to Redis one after another: under
    load the frames queued behind each other. PUBLISH goes through the shard's client, whose
    connection pool carries concurrent commands on several connections, at most
    PUBLISHES_AT_ONCE of them (the pool refuses a 101st connection with an error).
    """

    PUBLISHES_AT_ONCE = 32

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        await self._publish(channel, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        layer = self._get_layer()
        await self._publish(layer._get_group_channel_name(group), message)

    async def _publish(self, name: str, message: dict[str, Any]) -> None:
        layer = self._get_layer()  # one per event loop, and so is its semaphore
        publishing = getattr(layer, "chatsite_publishing", None)
        if publishing is None:
            publishing = layer.chatsite_publishing = asyncio.Semaphore(self.PUBLISHES_AT_ONCE)
        shard = layer._get_shard(name)
        shard._ensure_redis()  # synchronous: no other coroutine can run in between
        async with publishing:
            await shard._redis.publish(name, self.serialize(message))
