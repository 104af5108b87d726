"""SQLite statements run on the event loop's own thread, for work so short that handing it to
Django's database thread costs more than the work itself (the API gateway admits a request with
a few statements of tens of microseconds; the two thread hops and their wake-ups cost more).

Nothing here ever waits: the connection has no busy timeout, so a write lock held by another
connection (or any other trouble) raises `NotNow` at once, and the caller does the same work the
usual way, in Django's database thread, which waits for the lock. Reads never wait in WAL mode.
The statements are Django's own (chatsite/prepared_sql.py), run on a second connection to the
same file, with the same pragmas; this connection never checkpoints the WAL (Django's
connections do, on their commits), so a commit here is one write to the WAL file.

Only with a SQLite file: PostgreSQL is a network round trip, which must not hold up the loop.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX, SQLiteCursorWrapper

from chatsite.per_loop import PerLoop


class NotNow(Exception):
    """The work cannot be done on the loop without waiting: do it in the database thread."""


def available() -> bool:
    """Whether the default database is a SQLite file (an in-memory one is per connection)."""
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3"):
        return False
    name = str(database["NAME"])
    return name != ":memory:" and "mode=memory" not in name


def _open() -> sqlite3.Connection:
    database = settings.DATABASES["default"]
    connection = sqlite3.connect(
        str(database["NAME"]), timeout=0, isolation_level=None, check_same_thread=True
    )
    connection.executescript(database.get("OPTIONS", {}).get("init_command", ""))
    # As Django's connections (foreign keys checked); the other two are this module's rules.
    connection.executescript(
        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 0; PRAGMA wal_autocheckpoint = 0;"
    )
    return connection


_connections: PerLoop[sqlite3.Connection] = PerLoop(_open)


class _Cursor(SQLiteCursorWrapper):
    """Django's cursor (it takes %s placeholders), converting each statement once: the loop
    runs the same few statements again and again."""

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        assert param_names is None, "the loop's statements take a sequence of values"
        return _qmark_style(query)


@functools.lru_cache(maxsize=64)
def _qmark_style(query: str) -> str:
    return FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


def _cursor() -> Any:
    return _connections.get().cursor(factory=_Cursor)


def _troubled() -> None:
    """Drop the loop's connection after an error: the next use opens a fresh one."""
    connection = _connections.pop()
    if connection is not None:
        with contextlib.suppress(sqlite3.Error):
            connection.close()


@contextlib.contextmanager
def reading() -> Iterator[Any]:
    """A cursor for reads outside a transaction; any SQLite error becomes `NotNow`."""
    try:
        yield _cursor()
    except sqlite3.Error as error:
        _troubled()
        raise NotNow(str(error)) from error


@contextlib.contextmanager
def immediate_transaction() -> Iterator[Any]:
    """A write transaction, begun only if no other connection is writing (else `NotNow`), and
    committed when the block ends; an exception from the block rolls it back and goes on."""
    try:
        cursor = _cursor()
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        if not isinstance(error, sqlite3.OperationalError) or "locked" not in str(error):
            _troubled()
        raise NotNow(str(error)) from error
    try:
        yield cursor
        cursor.execute("COMMIT")
    except BaseException as error:
        with contextlib.suppress(sqlite3.Error):
            cursor.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error):
            _troubled()
            raise NotNow(str(error)) from error
        raise
