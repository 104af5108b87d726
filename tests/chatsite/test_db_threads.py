"""Where transactions started from async code run: beside the database thread when pooled."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from chatsite.accounts.models import User
from chatsite.db_threads import in_transaction_thread, in_worker_thread, pooled
from tests.factories import make_user

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_sqlite_runs_transactions_on_the_database_thread_and_a_pool_beside_it():
    database_thread = await database_sync_to_async(threading.get_ident)()
    transaction_thread = await in_transaction_thread(threading.get_ident)()
    assert (transaction_thread != database_thread) is pooled()


async def test_a_transaction_is_stored_while_the_database_thread_is_busy_when_pooled():
    release = threading.Event()
    busy = asyncio.ensure_future(database_sync_to_async(release.wait)())
    stored = asyncio.ensure_future(in_transaction_thread(make_user)("alice"))
    try:
        done, _ = await asyncio.wait({stored}, timeout=5 if pooled() else 0.2)
        # SQLite's transactions queue behind the busy thread; a pool's go ahead.
        assert bool(done) is pooled()
    finally:
        release.set()
        await busy
        await stored
    assert await User.objects.filter(username="alice").aexists()


class OpenedConnections:
    """The database connections opened in one thread while it is watched."""

    def __init__(self, thread: int) -> None:
        self.thread, self.opened = thread, list[BaseDatabaseWrapper]()

    def __enter__(self) -> list[BaseDatabaseWrapper]:
        connection_created.connect(self.note)
        return self.opened

    def __exit__(self, *exc: object) -> None:
        connection_created.disconnect(self.note)

    def note(self, sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
        if threading.get_ident() == self.thread:
            self.opened.append(connection)


async def test_work_in_a_worker_thread_closes_what_it_opened_even_when_it_fails():
    """Rendering and serialising kept off the loop read prefetched rows; should one read a
    relation after all, the connection must not stay with the worker thread (from a pool, no
    transaction could have it again)."""

    def count_then_fail() -> None:
        User.objects.count()
        raise LookupError("no such thing")

    worker = ThreadPoolExecutor(max_workers=1)
    asyncio.get_running_loop().set_default_executor(worker)
    try:
        thread = worker.submit(threading.get_ident).result()
        with OpenedConnections(thread) as opened, pytest.raises(LookupError):
            await in_worker_thread(count_then_fail)()
    finally:
        worker.shutdown()

    assert opened and all(connection.connection is None for connection in opened)
