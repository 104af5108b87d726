"""Capacity: the most tokens/s daphne relays with p99 token delay under 100 ms (one process, or
several on PostgreSQL + Redis with `--processes`).

Twenty replies stream at once while the stand-in's pace rises step by step to "as fast as it
can" (no pause between tokens); each step reports what daphne delivered and how late.
`python -m bench.capacity [--streams 20] [--tokens 400] [--processes 1]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence

from bench.harness import (
    Seeded,
    Site,
    ms,
    numbered_tokens,
    percentile,
    prepared_site,
    seed_users,
    serve,
    table,
)
from bench.relay import relay_round, summarize, wait_for_quiet, warm_up

# Pause between tokens per reply, slowest first; 0 is the stand-in at full speed.
TOKEN_DELAYS = (0.01, 0.005, 0.002, 0.001, 0.0)
LIMIT = 0.100


async def measure(
    site: Site, users: Sequence[Seeded], tokens: int
) -> tuple[list[list[str]], float]:
    rows, best, streams = [], 0.0, len(users)
    site.script_reply(numbered_tokens(tokens))
    await warm_up(site, users[0])
    for step, delay in enumerate(TOKEN_DELAYS):
        site.script_reply(numbered_tokens(tokens), token_delay=delay)
        clients = [(u.cookie, u.conversation_ids[step]) for u in users]
        readings, cpu = await relay_round(
            site, clients, f"capacity-{step}", deadline=120, spread=0.2
        )
        summary = summarize("daphne", site, readings, tokens, cpu)
        await wait_for_quiet(site)
        offered = streams / delay if delay else float("inf")
        p99 = percentile(summary.delays, 0.99)
        within = p99 < LIMIT and not summary.errors
        if within:
            best = max(best, summary.tokens_per_second)
        rows.append(
            [
                f"{offered:,.0f}" if delay else "as fast as it can",
                f"{summary.tokens_per_second:,.0f}",
                ms(percentile(summary.delays, 0.5)),
                ms(p99),
                f"{summary.daphne_cpu / summary.wall:.0%}",
                f"{summary.bench_cpu / summary.wall:.0%}",
                str(summary.errors),
                "yes" if within else "no",
            ]
        )
    return rows, best


def report(
    rows: Sequence[Sequence[str]], best: float, streams: int, tokens: int, setting: str
) -> str:
    headers = [
        "stand-in offers tokens/s",
        "daphne relayed tokens/s",
        "delay p50 ms",
        "p99 ms",
        "daphne CPU",
        "bench process CPU",
        "errors",
        "p99 < 100 ms",
    ]
    return (
        f"### Capacity: {setting} ({streams} replies of {tokens} tokens at once)\n\n"
        + table(headers, rows)
        + f"\n\n**Capacity ({setting}): {best:,.0f} tokens/s** relayed with p99 token delay "
        "under 100 ms.\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args(argv)
    with prepared_site() as site:
        users = seed_users(args.streams, len(TOKEN_DELAYS) + 1)
        with serve(site, processes=args.processes):
            rows, best = asyncio.run(measure(site, users, args.tokens))
    layer = "Redis pub/sub" if os.environ.get("REDIS_URL") else "in-memory layer"
    plural = "es" if args.processes > 1 else ""
    setting = f"{args.processes} daphne process{plural}, {site.database} + {layer}"
    print(report(rows, best, args.streams, args.tokens, setting), flush=True)


if __name__ == "__main__":
    main()
