"""Memory: daphne's resident set size idle and with open chat sockets, for clients that offer
permessage-deflate (as browsers do) and for clients that do not, each in a fresh daphne.

Each socket is a signed-in user's open chat page whose conversation has a finished reply, so the
socket has sent that reply as its catch-up frame and, when compressing, holds a compressor. Most
show a short reply (~1 KB); the last hundred show a long one (~40 KB), which fills the
compressor's window: the most compression can cost a socket.
`python -m bench.memory [--counts 100,1000]`
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench.harness import (
    MODEL,
    Seeded,
    Site,
    open_chat_socket,
    prepared_site,
    seed_users,
    serve,
    table,
)
from bench.relay import warm_up
from bench.wire_bytes import reply_text

CONNECTS_AT_ONCE = 50
USERS = 10
LONG_REPLIES = 100
CLIENTS = {"no compression": None, "permessage-deflate": "deflate"}


def mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"


async def settled_rss(site: Site) -> int:
    """RSS once it stops moving (sockets finish their connect work asynchronously)."""
    previous = -1
    for _ in range(20):
        await asyncio.sleep(0.5)
        current = site.rss()
        if abs(current - previous) < 64 * 1024:
            return current
        previous = current
    return previous


async def open_sockets(
    site: Site, targets: Sequence[tuple[str, str]], compression: str | None
) -> list[Any]:
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def open_one(cookie: str, conversation_id: str) -> Any:
        async with gate:
            ws = await open_chat_socket(site, conversation_id, cookie, compression=compression)
            await ws.recv()  # the catch-up frame: the conversation's finished reply
            return ws

    return list(await asyncio.gather(*(open_one(c, i) for c, i in targets)))


def with_reply(users: Sequence[Seeded], text: str) -> list[tuple[str, str]]:
    """(cookie, conversation id) for every conversation but each user's last (the warm-up's),
    each given a finished reply."""
    from conversations.models import Conversation, Message

    targets = [(u.cookie, c) for u in users for c in u.conversation_ids[:-1]]
    Message.objects.bulk_create(
        Message(
            conversation=Conversation.objects.get(pk=conversation_id),
            role=Message.Role.ASSISTANT,
            content=text,
            model=MODEL,
        )
        for _, conversation_id in targets
    )
    return targets


async def measure(
    site: Site,
    warm: Seeded,
    short: Sequence[tuple[str, str]],
    long: Sequence[tuple[str, str]],
    counts: Sequence[int],
    client: str,
) -> list[list[str]]:
    compression = CLIENTS[client]
    started = await settled_rss(site)
    await warm_up(site, warm)
    idle = await settled_rss(site)
    rows = [
        [client, "just started", "0", mib(started), "-"],
        [client, "idle, warm", "0", mib(idle), "-"],
    ]
    sockets: list[Any] = []
    try:
        for count in counts:
            began = time.monotonic()
            sockets += await open_sockets(site, short[len(sockets) : count], compression)
            opened = time.monotonic() - began
            rss = await settled_rss(site)
            rows.append(
                [
                    client,
                    f"{count} sockets, short reply (opened in {opened:.1f} s)",
                    str(count),
                    mib(rss),
                    f"{(rss - idle) / count / 1024:.1f} KiB",
                ]
            )
        sockets += await open_sockets(site, long, compression)
        with_long = await settled_rss(site)
        rows.append(
            [
                client,
                f"+{len(long)} sockets, long reply",
                str(len(sockets)),
                mib(with_long),
                f"{(with_long - rss) / len(long) / 1024:.1f} KiB (over the row above)",
            ]
        )
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="100,1000")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    rows = []
    with prepared_site() as site:
        users = seed_users(USERS, max(counts) // USERS + 1)
        short = with_reply(users, "".join(reply_text(150)))
        long_users = seed_users(USERS, LONG_REPLIES // USERS + 1, prefix="long")
        long = with_reply(long_users, "".join(reply_text(6000)))
        for client in CLIENTS:
            with serve(site):
                rows += asyncio.run(measure(site, users[0], short, long, counts, client))
    print(
        "### Memory (daphne RSS; each socket is a signed-in user's open chat page, sent its "
        "conversation's finished reply on connect; a fresh daphne per client kind)\n\n"
        + table(["client offers", "state", "sockets", "RSS", "per socket (over idle)"], rows)
        + "\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
