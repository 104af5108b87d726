"""How tests and benchmarks start Debian's chromium: headless, no sandbox (root), and none of
its background networking, which this machine's closed network refuses. Never a downloaded
browser."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
