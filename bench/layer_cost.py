"""The cost of one frame through the in-memory channel layer (group_send + the consumer's receive)
as the number of groups grows: Channels' own layer, which slowed the relay as sockets were added,
and chatsite's (chatsite/channel_layer.py), which the site uses without REDIS_URL.

Every chat socket joins two groups and every running reply one more, so N chat users mean about
3N groups. `python -m bench.layer_cost`
"""

from __future__ import annotations

import asyncio
import time

from channels.layers import InMemoryChannelLayer

from bench.harness import table
from chatsite.channel_layer import SweepingInMemoryChannelLayer

GROUPS = (0, 30, 300, 1_500, 3_000)
FRAMES = 1_000


async def cost_per_frame(layer_class: type[InMemoryChannelLayer], groups: int) -> float:
    layer = layer_class(capacity=1500)
    for number in range(groups):
        await layer.group_add(f"other{number}", f"socket.inmemory!other{number}")
    channel = "socket.inmemory!reader"
    await layer.group_add("chat", channel)
    frame = {"type": "chat.frame", "html": "x" * 100, "generation": "g", "seq": 1}
    began = time.perf_counter()
    for _ in range(FRAMES):
        await layer.group_send("chat", frame)
        await layer.receive(channel)
    return (time.perf_counter() - began) / FRAMES


def main() -> None:
    rows = []
    for groups in GROUPS:
        stock = asyncio.run(cost_per_frame(InMemoryChannelLayer, groups))
        ours = asyncio.run(cost_per_frame(SweepingInMemoryChannelLayer, groups))
        rows.append(
            [f"{groups:,}", f"~{groups // 3:,}", f"{stock * 1e6:,.0f}", f"{ours * 1e6:,.0f}"]
        )
    headers = [
        "groups in the layer",
        "chat users (3 groups each)",
        "µs per frame, InMemoryChannelLayer",
        "SweepingInMemoryChannelLayer (the site's)",
    ]
    print(
        "### Channel layer cost per frame (in-process)\n\n" + table(headers, rows) + "\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
