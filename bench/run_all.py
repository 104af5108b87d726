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
# (name, module, arguments); each prints its own tables.
SCRIPTS = [
    ("relay", "bench.relay", []),
    ("gateway", "bench.gateway", []),
    ("capacity", "bench.capacity", []),
    ("layer_cost", "bench.layer_cost", []),
    ("memory", "bench.memory", []),
    ("db_writes", "bench.db_writes", []),
    ("page_weight", "bench.page_weight", []),
    ("wire_bytes", "bench.wire_bytes", []),
    ("history", "bench.history", []),
]
TIME_LIMIT = 900  # seconds per script: a hung run ends by itself


def run(name: str, module: str, arguments: list[str]) -> tuple[str, float]:
    began = time.monotonic()
    print(f"== {name}", flush=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *arguments],
            cwd=ROOT,
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
        output, seconds = run(name, module, arguments)
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
