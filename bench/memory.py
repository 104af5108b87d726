"""Memory: daphne's resident set size idle, with 100 and with 1,000 open idle chat sockets.

`python -m bench.memory`
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench.harness import (
    Seeded,
    Site,
    open_chat_socket,
    prepared_site,
    seed_users,
    serve,
    table,
)
from bench.relay import warm_up

CONNECTS_AT_ONCE = 50
USERS = 10


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


async def open_sockets(site: Site, targets: Sequence[tuple[str, str]]) -> list[Any]:
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def open_one(cookie: str, conversation_id: str) -> Any:
        async with gate:
            return await open_chat_socket(site, conversation_id, cookie)

    return list(await asyncio.gather(*(open_one(c, i) for c, i in targets)))


async def measure(site: Site, users: Sequence[Seeded], counts: Sequence[int]) -> list[list[str]]:
    targets = [
        (user.cookie, conversation_id)
        for user in users
        for conversation_id in user.conversation_ids[:-1]
    ]
    started = await settled_rss(site)
    await warm_up(site, users[0])
    idle = await settled_rss(site)
    rows = [["just started", "0", mib(started), "-"], ["idle, warm", "0", mib(idle), "-"]]
    sockets: list[Any] = []
    try:
        for count in counts:
            began = time.monotonic()
            sockets += await open_sockets(site, targets[len(sockets) : count])
            opened = time.monotonic() - began
            rss = await settled_rss(site)
            rows.append(
                [
                    f"{count} open idle sockets (opened in {opened:.1f} s)",
                    str(count),
                    mib(rss),
                    f"{(rss - idle) / count / 1024:.1f} KiB",
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
    with prepared_site() as site:
        users = seed_users(USERS, max(counts) // USERS + 1)
        with serve(site):
            rows = asyncio.run(measure(site, users, counts))
    print(
        "### Memory (daphne RSS; each socket is a signed-in user's open chat page)\n\n"
        + table(["state", "sockets", "RSS", "per socket (over idle)"], rows)
        + "\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
