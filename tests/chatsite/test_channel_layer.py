"""The single-process channel layer: group sends reach every member, even past a full one."""

from __future__ import annotations

import asyncio

from chatsite.channel_layer import SweepingInMemoryChannelLayer


async def test_a_group_send_reaches_every_member_and_skips_a_full_one():
    layer = SweepingInMemoryChannelLayer(capacity=1)
    first, full, last = [await layer.new_channel() for _ in range(3)]
    for channel in (first, full, last):
        await layer.group_add("chat.room", channel)
    await layer.send(full, {"type": "filler"})

    await layer.group_send("chat.room", {"type": "chat.frame", "html": "<p>hi</p>"})

    assert (await layer.receive(first))["html"] == "<p>hi</p>"
    assert (await layer.receive(last))["html"] == "<p>hi</p>"
    assert (await layer.receive(full))["type"] == "filler"
    await layer.group_send("chat.other", {"type": "nobody listens"})


async def test_expired_messages_are_still_swept_at_most_once_a_second():
    layer = SweepingInMemoryChannelLayer(expiry=0)
    layer.sweep_interval = 0.0
    channel = await layer.new_channel()
    await layer.group_add("chat.room", channel)
    await layer.send(channel, {"type": "stale"})
    await asyncio.sleep(0.01)

    layer._clean_expired()

    assert channel not in layer.channels
    assert channel not in layer.groups.get("chat.room", {})
