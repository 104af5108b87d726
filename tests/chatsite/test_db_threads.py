"""Where transactions started from async code run: beside the database thread when pooled."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async

from chatsite.accounts.models import User
from chatsite.db_threads import in_transaction_thread, pooled
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
