"""daphne as `make run` starts it, plus an opt-in probe for the benchmark that counts writes.

BENCH_SQL_LOG=path appends one line per INSERT/UPDATE/DELETE the site runs (db_writes.py).
BENCH_PROPOSED=1 applies, to this process only, the two settings-level fixes results.md proposes,
so their effect can be measured: persistent database connections (CONN_MAX_AGE=None), and an
in-memory channel layer that sweeps expired messages once a second instead of on every send and
receive. Without either variable this is exactly `python -m daphne`.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _install_sql_log(path: str) -> None:
    import django
    from django.db.backends.signals import connection_created

    django.setup()
    lock = threading.Lock()
    log = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    def count_writes(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any):
        verb = sql.lstrip().split(" ", 1)[0].upper()
        if verb in _WRITE_VERBS:
            table = sql.split('"')[1] if '"' in sql else "?"
            with lock:
                log.write(f"{verb} {table}\n")
        return execute(sql, params, many, ctx)

    def on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
        if count_writes not in connection.execute_wrappers:
            connection.execute_wrappers.append(count_writes)

    connection_created.connect(on_connection, weak=False)


def _apply_proposed_fixes() -> None:
    import time

    import django
    from channels.layers import InMemoryChannelLayer
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None
    from django.db import connections

    connections["default"].settings_dict["CONN_MAX_AGE"] = None
    sweep = InMemoryChannelLayer._clean_expired
    last_sweep: dict[int, float] = {}

    def clean_expired_once_a_second(layer: InMemoryChannelLayer) -> None:
        # Stock: a walk over every channel and group on each send and receive (O(groups) per
        # frame). Messages expire after 60 s, so a sweep a second loses nothing that matters.
        now = time.monotonic()
        if now - last_sweep.get(id(layer), 0.0) >= 1.0:
            last_sweep[id(layer)] = now
            sweep(layer)

    InMemoryChannelLayer._clean_expired = clean_expired_once_a_second  # type: ignore[method-assign]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    if os.environ.get("BENCH_SQL_LOG"):
        _install_sql_log(os.environ["BENCH_SQL_LOG"])
    if os.environ.get("BENCH_PROPOSED"):
        _apply_proposed_fixes()
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(sys.argv[1:])


if __name__ == "__main__":
    main()
