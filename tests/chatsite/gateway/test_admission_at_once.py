"""Admission on the event loop's own SQLite connection (chatsite/loop_sqlite.py), in the
transaction the request to Ollama is sent in: the common case writes what `admit` writes, once
the request is written; a bad key is refused there too, before it; anything else (a write lock held
elsewhere, a limit reached, a model rule to read) is left to `admit`, with nothing written and
nothing sent."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from chatsite import loop_sqlite
from chatsite.accounts.models import SiteSettings, User
from chatsite.gateway.admission import (
    BAD_KEY,
    MISSING_KEY,
    AdmissionAtOnce,
    Refused,
    Undecided,
)
from chatsite.gateway.models import ApiKey, UsageRecord
from chatsite.jobs import taken_lease
from conversations.chat.fair_use import STALE_TURNS_KEPT
from conversations.models import Message, TurnStart
from tests.factories import make_conversation, make_message

pytestmark = pytest.mark.django_db(transaction=True)

on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the loop's connection is SQLite's alone"
)


@pytest.fixture
def secret(alice: User) -> str:
    SiteSettings.load()  # a site has its settings row from its first page on
    return ApiKey.objects.create_key(alice, "m")[1]


def start(secret: str | None) -> AdmissionAtOnce | None:
    return AdmissionAtOnce.start(
        f"Bearer {secret}" if secret else None, endpoint="chat", model="qwen3", server="http://s"
    )


def admit_now(secret: str | None) -> int | None:
    """The record's id, as a request sent inside `sending()` gets it; None if undecided."""
    admission = start(secret)
    if admission is None:
        return None
    try:
        with admission.sending():
            pass  # the request is written here
    except Undecided:
        return None
    assert admission.record_id is not None
    return admission.record_id


def stored() -> tuple[list[tuple[int, int | None, str, str]], int, bool]:
    """The usage records (user, key, status, server), the number of turns, and whether the
    key's last use is noted."""
    records = list(UsageRecord.objects.values_list("user_id", "key_id", "status", "server"))
    used = ApiKey.objects.filter(last_used_at__isnull=False).exists()
    return records, TurnStart.objects.count(), used


@on_sqlite
async def test_a_generation_is_admitted_on_the_loop_with_what_admit_writes(
    alice: User, secret: str
):
    record_id = admit_now(secret)

    records, turns, used = await sync_to_async(stored)()
    key = await ApiKey.objects.aget()
    assert records == [(alice.pk, key.pk, "running", "http://s")]
    record = await UsageRecord.objects.aget()
    assert record.pk == record_id and record.lease_expires_at is not None
    assert (turns, used) == (1, True)


@on_sqlite
async def test_the_rows_are_written_after_the_request_and_a_failed_write_of_it_leaves_none(
    secret: str,
):
    admission = start(secret)
    assert admission is not None

    with pytest.raises(ConnectionResetError), admission.sending():
        # Checked and locked, not yet stored.
        assert admission.record_id is None
        raise ConnectionResetError  # the request could not be written

    assert await sync_to_async(stored)() == ([], 0, False)
    assert admission.record_id is None
    assert admit_now(secret) is not None  # the connection is fine for the next request


@on_sqlite
async def test_a_request_without_a_key_is_refused_before_anything_else(secret: str):
    with pytest.raises(Refused) as refused:
        start(None)

    assert (refused.value.status, refused.value.message) == (401, MISSING_KEY)


@on_sqlite
async def test_an_unknown_key_is_refused_on_the_loop_before_the_request_is_written(secret: str):
    admission = start("not-a-key")
    assert admission is not None
    sent = []

    with pytest.raises(Refused) as refused, admission.sending():
        sent.append("the request")

    assert (refused.value.status, refused.value.message) == (401, BAD_KEY)
    assert sent == []
    assert await sync_to_async(stored)() == ([], 0, False)
    assert admit_now(secret) is not None  # the transaction was rolled back


@on_sqlite
async def test_while_another_connection_writes_the_loop_does_not_wait_and_leaves_it_to_admit(
    alice: User, secret: str
):
    # Another connection (a thread's, or another process's) in the middle of a write.
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    admitted = admit_now(secret)
    waited = time.monotonic() - started
    other.execute("ROLLBACK")
    other.close()

    assert admitted is None
    # Django's connections wait up to 20 s for the lock; the loop's gives up at once.
    assert waited < 5
    assert await sync_to_async(stored)() == ([], 0, False)
    # The lock released, the same connection admits.
    assert admit_now(secret) is not None
    records, turns, used = await sync_to_async(stored)()
    assert (len(records), turns, used) == (1, 1, True)


@on_sqlite
async def test_at_the_active_limit_the_loop_writes_nothing_and_leaves_the_refusal_to_admit(
    alice: User, secret: str, settings
):
    settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER = 1
    await UsageRecord.objects.acreate(user=alice, endpoint="chat", **taken_lease(15))
    admission = start(secret)
    assert admission is not None
    sent = []

    with pytest.raises(Undecided), admission.sending():
        sent.append("the request")

    assert sent == []
    records, turns, used = await sync_to_async(stored)()
    assert (len(records), turns, used) == (1, 0, False)
    # `admit`, in the database thread, words the refusal.
    with pytest.raises(Refused) as refused:
        await sync_to_async(admission.admit)()
    assert refused.value.status == 429 and "1 reply being written" in refused.value.message


def live_chat_reply(user: User) -> None:
    conversation = make_conversation(user)
    make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        **taken_lease(15),
    )


def live_api_generation(user: User) -> None:
    UsageRecord.objects.create(user=user, endpoint="chat", **taken_lease(15))


def turns(user: User, *, seconds_ago: int, count: int) -> None:
    started_at = timezone.now() - timedelta(seconds=seconds_ago)
    TurnStart.objects.bulk_create(
        [TurnStart(user=user, started_at=started_at) for _ in range(count)]
    )


@on_sqlite
@pytest.mark.parametrize(
    "limits, busy",
    [
        ({"CHAT_MAX_ACTIVE_REPLIES_PER_USER": 1}, live_chat_reply),
        ({"CHAT_MAX_ACTIVE_REPLIES_PER_USER": 1}, live_api_generation),
        ({"CHAT_MAX_TURNS_PER_MINUTE": 3}, lambda user: turns(user, seconds_ago=5, count=3)),
        # Turns older than the window do not count, but enough of them are cleared by `admit`.
        ({}, lambda user: turns(user, seconds_ago=120, count=STALE_TURNS_KEPT)),
    ],
    ids=["chat reply", "api generation", "turns this minute", "old turns to clear"],
)
async def test_the_one_statement_counts_what_the_limits_count_and_only_the_callers_own(
    alice: User,
    bob: User,
    secret: str,
    settings,
    limits: dict[str, int],
    busy: Callable[[User], None],
):
    for name, value in limits.items():
        setattr(settings, name, value)
    await sync_to_async(busy)(bob)
    admission = start(secret)
    assert admission is not None
    # Someone else's work does not count against alice: admitted (the request then fails to
    # go, so nothing is stored and the next check starts from the same counts).
    with pytest.raises(ConnectionResetError), admission.sending():
        raise ConnectionResetError

    await sync_to_async(busy)(alice)
    admission = start(secret)
    assert admission is not None
    with pytest.raises(Undecided), admission.sending():
        pass


@on_sqlite
async def test_with_member_models_restricted_the_loop_leaves_the_rule_to_admit(secret: str):
    await SiteSettings.objects.filter(pk=1).aupdate(restrict_member_models=True)

    assert admit_now(secret) is None
    assert await sync_to_async(stored)() == ([], 0, False)


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the other databases' case")
async def test_on_a_database_server_every_request_is_admitted_in_a_thread(secret: str):
    assert not loop_sqlite.available()
    assert start(secret) is None
    assert await sync_to_async(stored)() == ([], 0, False)
