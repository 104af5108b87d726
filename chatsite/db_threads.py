"""Where a transaction started from async code runs: with a pooled database (PostgreSQL), on one of
a few threads of its own, so concurrent sends are stored side by side; with SQLite, on Django's one
database thread, since SQLite writes one transaction at a time anyway. And where CPU or file work
kept off the event loop runs: in a worker thread that gives back any connection it opened."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

_P = ParamSpec("_P")
_R = TypeVar("_R")

_executor: ThreadPoolExecutor | None = None


def pooled() -> bool:
    """Whether the default database hands out connections from a pool."""
    return bool(settings.DATABASES["default"].get("OPTIONS", {}).get("pool"))


def in_transaction_thread(
    func: Callable[_P, _R],
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Like `sync_to_async` for a function that is one short transaction (see the module)."""

    @functools.wraps(func)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if not pooled():
            return await sync_to_async(func)(*args, **kwargs)
        call = functools.partial(_returning_connection, func, *args, **kwargs)
        return await sync_to_async(call, thread_sensitive=False, executor=_threads())()

    return run


def in_worker_thread(
    func: Callable[_P, _R],
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Like `sync_to_async(func, thread_sensitive=False)`, for work that must not hold up the
    event loop (rendering, serialising, reading files), closing whatever database connection it
    opened on the way (a template reading a relation, say). A worker thread otherwise keeps that
    connection for good: taken from a pool, it is one that no transaction can have again."""

    @functools.wraps(func)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        call = functools.partial(_returning_connection, func, *args, **kwargs)
        return await sync_to_async(call, thread_sensitive=False)()

    return run


def _returning_connection(func: Callable[..., _R], *args: Any, **kwargs: Any) -> _R:
    try:
        return func(*args, **kwargs)
    finally:
        connection.close()  # back to the pool, for whichever thread needs it next


def _threads() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        # Fewer threads than pooled connections: the database thread keeps one for itself.
        size = max(1, settings.DATABASE_POOL_SIZE - 1)
        _executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="transaction")
    return _executor
