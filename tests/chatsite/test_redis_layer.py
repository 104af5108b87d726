"""The scaled configuration's channel layer (Redis pub/sub): a lost connection is taken up again."""

from __future__ import annotations

import asyncio

import pytest
import redis
from django.conf import settings

from chatsite.channel_layer import default_layer

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL, reason="the in-memory layer has no connection to lose"
)


async def test_a_group_keeps_receiving_after_redis_drops_the_layers_connection():
    layer = default_layer()
    channel = await layer.new_channel()
    await layer.group_add("chat.lost-connection", channel)
    await layer.group_send("chat.lost-connection", {"type": "chat.frame", "html": "before"})
    assert (await asyncio.wait_for(layer.receive(channel), 10))["html"] == "before"

    # Redis closes the connection this process subscribes on (as a restart or a network drop).
    subscriber = layer._get_layer()._shards[0]._pubsub.connection  # type: ignore[attr-defined]
    host, port = subscriber._writer.get_extra_info("sockname")[:2]
    admin = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert admin.client_kill(f"{host}:{port}")
    finally:
        admin.close()

    # Messages published while it reconnects are lost (pub/sub keeps none): publish until one
    # arrives, on one receive that stays waiting.
    receiving = asyncio.ensure_future(layer.receive(channel))
    deadline = asyncio.get_running_loop().time() + 20
    while not receiving.done():
        assert asyncio.get_running_loop().time() < deadline, "the layer never reconnected"
        await layer.group_send("chat.lost-connection", {"type": "chat.frame", "html": "after"})
        await asyncio.wait({receiving}, timeout=0.2)
    assert receiving.result()["html"] == "after"
    await layer.group_discard("chat.lost-connection", channel)
