"""daphne as `make run` starts it (chatsite.serve: permessage-deflate accepted), plus an opt-in
probe for the benchmark that counts writes.

BENCH_SQL_LOG=path appends one line per INSERT/UPDATE/DELETE the site runs (db_writes.py).
Without it this is exactly `python -m chatsite.serve`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from chatsite import serve

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


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    if os.environ.get("BENCH_SQL_LOG"):
        _install_sql_log(os.environ["BENCH_SQL_LOG"])
    serve.main()


if __name__ == "__main__":
    main()
