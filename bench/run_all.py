"""`make bench`: run every benchmark in its own process and write bench/results.md.

Each script prints Markdown; this collects it under the machine's description and the date.
bench/history.py (owned elsewhere) runs too when it exists. Set BENCH_ONLY=relay,memory to run a
subset.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

from bench.harness import ROOT, machine_description

RESULTS = ROOT / "bench" / "results.md"
NOTES = ROOT / "bench" / "notes.md"
# (name, module, arguments); each prints its own tables. Names ending in "-scaled" run on
# PostgreSQL + Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; `make bench` passes the SCALED_ ones)
# and are left out without them; the others on SQLite with the in-memory layer.
SCRIPTS = [
    ("relay", "bench.relay", ["--sizes", "1,10,100,500"]),
    ("relay-scaled", "bench.relay", ["--sizes", "10,100,500"]),
    ("relay-2-scaled", "bench.relay", ["--sizes", "100,500", "--processes", "2"]),
    ("gateway", "bench.gateway", []),
    ("capacity", "bench.capacity", []),
    ("capacity-scaled", "bench.capacity", []),
    ("capacity-2-scaled", "bench.capacity", ["--processes", "2"]),
    ("layer_cost", "bench.layer_cost", []),
    ("memory", "bench.memory", []),
    ("db_writes", "bench.db_writes", []),
    ("page_weight", "bench.page_weight", []),
    ("wire_bytes", "bench.wire_bytes", []),
    ("history", "bench.history", []),
]
TIME_LIMIT = 900  # seconds per script: a hung run ends by itself


def environment(name: str) -> dict[str, str] | None:
    """The script's environment: SQLite and the in-memory layer, or the scaled configuration
    (None when it is not given)."""
    plain = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if not name.endswith("-scaled"):
        return plain
    database, redis = os.environ.get("BENCH_DATABASE_URL"), os.environ.get("BENCH_REDIS_URL")
    if not database or not redis:
        return None
    return {**plain, "DATABASE_URL": database, "REDIS_URL": redis}


def run(name: str, module: str, arguments: list[str], env: dict[str, str]) -> tuple[str, float]:
    began = time.monotonic()
    print(f"== {name}", flush=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        output = f"**{name} did not finish within {TIME_LIMIT} s.**\n"
    else:
        output = done.stdout
        if done.returncode:
            output += f"\n**{name} failed (exit {done.returncode}):**\n\n```\n"
            output += done.stderr[-4000:] + "\n```\n"
    print(output, flush=True)
    return output, time.monotonic() - began


def main() -> None:
    only = {n for n in os.environ.get("BENCH_ONLY", "").split(",") if n}
    started = dt.datetime.now().astimezone()
    sections, timings = [], []
    for name, module, arguments in SCRIPTS:
        if only and name not in only:
            continue
        if module == "bench.history" and not (ROOT / "bench" / "history.py").exists():
            continue
        env = environment(name)
        if env is None:
            print(f"== {name}: skipped (BENCH_DATABASE_URL and BENCH_REDIS_URL unset)")
            continue
        output, seconds = run(name, module, arguments, env)
        sections.append(output.strip())
        timings.append(f"{name} {seconds:.0f} s")
    notes = NOTES.read_text().strip() if NOTES.exists() else ""
    text = "\n\n".join(
        [
            "# chatsite benchmark results",
            f"Written by `make bench` on {started:%Y-%m-%d %H:%M %Z}.  \n"
            f"Machine: {machine_description()}.  \n"
            f"Run time: {', '.join(timings)}.",
            *sections,
            *([notes] if notes else []),
        ]
    )
    RESULTS.write_text(text + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
