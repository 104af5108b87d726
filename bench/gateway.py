"""API gateway overhead: N clients stream /api/chat through chatsite's /ollama/ (each with its own
user's key), against the same clients reading the stand-in directly, in the same run; plus the CPU
daphne spends per 1,000 relayed tokens.

`python -m bench.gateway [--sizes 1,100] [--tokens 100] [--rate 50]`
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.harness import (
    Reading,
    Site,
    ms,
    numbered_tokens,
    percentile,
    prepared_site,
    serve,
    table,
)
from bench.relay import api_round, wait_for_quiet

# One reply per round at N=1: 40 of them, as the added time is a fraction of a millisecond and
# 20 left its p50 to move by about as much from run to run.
ROUNDS = {1: 40, 10: 3, 100: 2}
# Issue 16's targets for the added TTFT p50, in seconds, by N.
TARGETS = {1: 0.002, 100: 0.020}
SPREAD_SECONDS = 1.0


def seed_keys(count: int) -> list[str]:
    """One approved user with one API key each; their secrets."""
    from django.db import connections

    from chatsite.accounts.models import User
    from chatsite.gateway.models import ApiKey

    secrets = []
    for number in range(count):
        user = User.objects.create_user(f"api-{number}", password=None, is_approved=True)
        secrets.append(ApiKey.objects.create_key(user, "bench")[1])
    connections.close_all()
    return secrets


@dataclass
class Summary:
    mode: str
    clients: int
    ttft: list[float]
    delays: list[float]
    tokens: int
    daphne_cpu: float
    errors: int
    first_error: str = ""

    def row(self) -> list[str]:
        per_k = self.daphne_cpu / self.tokens * 1000 if self.tokens else math.nan
        return [
            self.mode,
            str(self.clients),
            str(len(self.ttft)),
            ms(percentile(self.ttft, 0.5)),
            ms(percentile(self.ttft, 0.99)),
            ms(percentile(self.delays, 0.5)),
            ms(percentile(self.delays, 0.99)),
            "-" if math.isnan(per_k) else f"{per_k * 1000:.1f}",
            str(self.errors),
        ]


def summarize(
    mode: str, site: Site, readings: list[Reading], expected: int, cpu: tuple[float, float, float]
) -> Summary:
    ttft, delays = [], []
    for reading in readings:
        if 0 in reading.arrivals:
            ttft.append(reading.arrivals[0] - reading.sent_at)
        departures = site.standin.departures.get(reading.key, [])
        delays += [
            arrived - departures[seq]
            for seq, arrived in reading.arrivals.items()
            if seq < len(departures)
        ]
    failed = [r for r in readings if r.error or len(r.arrivals) < expected]
    return Summary(
        mode,
        len(readings),
        ttft,
        delays,
        sum(len(r.arrivals) for r in readings),
        cpu[0],
        len(failed),
        failed[0].error if failed else "",
    )


def merge(parts: Sequence[Summary]) -> Summary:
    first = parts[0]
    errors = [p.first_error for p in parts if p.first_error]
    return Summary(
        first.mode,
        first.clients,
        [x for p in parts for x in p.ttft],
        [x for p in parts for x in p.delays],
        sum(p.tokens for p in parts),
        sum(p.daphne_cpu for p in parts),
        sum(p.errors for p in parts),
        errors[0] if errors else "",
    )


async def measure(
    site: Site, keys: list[str], sizes: Sequence[int], tokens: int, rate: float
) -> list[tuple[Summary, Summary]]:
    token_delay = 1 / rate if rate else 0.0
    site.script_reply(numbered_tokens(tokens), token_delay=token_delay)
    timeout = 30 + tokens * token_delay * 4
    gateway = site.url + "/ollama"
    await api_round(gateway, keys[:1], "warm-up", deadline=60, site=site)  # imports, pool
    await wait_for_quiet(site)
    results = []
    for size in sizes:
        direct_parts, gateway_parts = [], []
        for round_number in range(ROUNDS.get(size, 1)):
            label = f"{size}-{round_number}"
            readings, cpu = await api_round(
                site.standin.url, [None] * size, f"direct-{label}", deadline=timeout, site=site
            )
            direct_parts.append(summarize("direct", site, readings, tokens, cpu))
            await wait_for_quiet(site)
            # Each user sends one request per round: the per-minute limit is not what is measured.
            first = round_number * size % len(keys)
            round_keys = (keys[first:] + keys[:first])[:size]
            readings, cpu = await api_round(
                gateway, round_keys, f"gateway-{label}", deadline=timeout, site=site
            )
            gateway_parts.append(summarize("gateway", site, readings, tokens, cpu))
            await wait_for_quiet(site)
        results.append((merge(direct_parts), merge(gateway_parts)))
    return results


HEADERS = [
    "path",
    "N",
    "replies",
    "TTFT p50 ms",
    "TTFT p99 ms",
    "token delay p50 ms",
    "p99 ms",
    "daphne CPU ms / 1,000 tokens",
    "errors",
]


ADDED_HEADERS = [
    "N",
    "TTFT p50 ms",
    "target",
    "TTFT p50 gateway / direct",
    "TTFT p99 ms",
    "token delay p50 ms",
    "p99 ms",
]


def verdict(added: float, target: float | None) -> str:
    if target is None or math.isnan(added):
        return "-"
    return f"<= {target * 1000:g} ms: {'met' if added <= target else 'missed'}"


def report(results: Sequence[tuple[Summary, Summary]], tokens: int, rate: float) -> str:
    rows, added = [], []
    for direct, gateway in results:
        rows += [direct.row(), gateway.row()]
        direct_p50, gateway_p50 = percentile(direct.ttft, 0.5), percentile(gateway.ttft, 0.5)
        added.append(
            [
                str(gateway.clients),
                ms(gateway_p50 - direct_p50),
                verdict(gateway_p50 - direct_p50, TARGETS.get(gateway.clients)),
                f"{gateway_p50 / direct_p50:.2f}" if direct_p50 else "-",
                ms(percentile(gateway.ttft, 0.99) - percentile(direct.ttft, 0.99)),
                ms(percentile(gateway.delays, 0.5) - percentile(direct.delays, 0.5)),
                ms(percentile(gateway.delays, 0.99) - percentile(direct.delays, 0.99)),
            ]
        )
    pace = f"{rate:g} tokens/s per reply" if rate else "as fast as it can"
    text = (
        f"### API gateway overhead ({tokens}-token replies, stand-in at {pace})\n\n"
        "The same clients stream `/api/chat` from the stand-in directly and through chatsite's "
        "`/ollama/` (one user and key each: key lookup, model access, per-user limits, usage "
        "record, relay). TTFT = first token at the client minus the moment the request was "
        "sent; token delay = arrival at the client minus departure from the stand-in. Targets: "
        "added TTFT p50 <= 2 ms at N=1; gateway TTFT <= direct + 20 ms at N=100. Rounds: "
        + ", ".join(f"N={n}: {r}" for n, r in ROUNDS.items())
        + ".\n\n"
        + table(HEADERS, rows)
        + "\n\nAdded by the gateway (gateway minus direct):\n\n"
        + table(ADDED_HEADERS, added)
        + "\n\nThe ratio (gateway TTFT p50 / direct TTFT p50) is the figure to compare between "
        "machines: the milliseconds scale with the machine's speed, direct path included."
    )
    errors = [g.first_error for _, g in results if g.first_error]
    if errors:
        text += f"\n\nFirst gateway error: `{errors[0][:300]}`"
    return text + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,100")
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with prepared_site() as site:
        keys = seed_keys(max(*sizes, max(ROUNDS.values()) + 1))
        with serve(site):
            results = asyncio.run(measure(site, keys, sizes, args.tokens, args.rate))
    print(report(results, args.tokens, args.rate))


if __name__ == "__main__":
    main()
