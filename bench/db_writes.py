"""Database work per reply: the INSERT/UPDATE/DELETE statements one 1,000-token reply costs.

daphne runs with a probe (bench/serve.py, BENCH_SQL_LOG) that logs every write statement; one
message is sent over a socket and the writes until the site is quiet again are counted, at two
paces: the stand-in at full speed and at 50 tokens/s (a 20-second reply).
`python -m bench.db_writes [--tokens 1000]`
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.harness import (
    Reading,
    Seeded,
    Site,
    numbered_tokens,
    open_chat_socket,
    prepared_site,
    read_reply,
    seed_users,
    send_frame,
    serve,
    table,
)
from bench.relay import wait_for_quiet

PACES = {"full speed": 0.0, "50 tokens/s": 0.02}


async def one_reply(site: Site, user: Seeded, conversation_id: str, log: Path) -> Counter[str]:
    ws = await open_chat_socket(site, conversation_id, user.cookie)
    await asyncio.sleep(0.5)  # let the connect's own work settle before counting
    before = len(await asyncio.to_thread(_written, log))
    reading = Reading(f"writes-{conversation_id}")
    reading.sent_at = time.monotonic()
    await ws.send(send_frame(reading.key))
    async with asyncio.timeout(120):
        await read_reply(ws, reading)
    await wait_for_quiet(site)
    await asyncio.sleep(1.5)  # a flush that was already due lands now
    await ws.close()
    lines = await asyncio.to_thread(_written, log)
    return Counter(lines[before:])


def _written(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=1000)
    args = parser.parse_args(argv)
    rows = []
    with prepared_site() as site:
        (user,) = seed_users(1, len(PACES))
        log = site.data_dir / "writes.log"
        with serve(site, extra_env={"BENCH_SQL_LOG": str(log)}):
            for index, (pace, delay) in enumerate(PACES.items()):
                site.script_reply(numbered_tokens(args.tokens), token_delay=delay)
                began = time.monotonic()
                writes = asyncio.run(one_reply(site, user, user.conversation_ids[index], log))
                seconds = time.monotonic() - began
                detail = ", ".join(f"{n} x {w}" for w, n in sorted(writes.items()))
                rows.append([pace, f"{seconds:.0f} s", str(sum(writes.values())), detail])
        print(f"Database: {site.database}\n")
    print(
        f"### Database writes per reply ({args.tokens}-token reply, first message of a "
        "conversation, so a title is generated too)\n\n"
        + table(["stand-in pace", "send to quiet", "write statements", "which"], rows)
        + "\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
