"""Streaming replies' progress: written for the whole process in one statement per batch."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from conversations.chat.flushes import Progress, flusher
from conversations.models import Message
from tests.factories import make_conversation, make_message, make_user

pytestmark = [pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def streaming_replies(count: int) -> list[Message]:
    conversation = make_conversation(make_user("alice"))
    return [
        make_message(
            conversation, role=Message.Role.ASSISTANT, state=Message.State.STREAMING, content=""
        )
        for _ in range(count)
    ]


class Writes:
    """The UPDATE statements the database thread runs while in the block."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            self.statements.append(sql)
        return execute(sql, params, many, context)

    async def __aenter__(self) -> Writes:
        await database_sync_to_async(lambda: connection.execute_wrappers.append(self))()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await database_sync_to_async(lambda: connection.execute_wrappers.remove(self))()


async def test_the_progress_of_ten_replies_is_written_in_one_statement_with_fresh_leases():
    replies = await streaming_replies(10)
    before = timezone.now()
    async with Writes() as writes:
        await asyncio.gather(
            *(
                flusher().write(Progress(r.pk, f"text {i}", f"thought {i}", 15.0))
                for i, r in enumerate(replies)
            )
        )

    assert len(writes.statements) == 1
    stored = {m.pk: m async for m in Message.objects.filter(pk__in=[r.pk for r in replies])}
    for i, reply in enumerate(replies):
        assert stored[reply.pk].content == f"text {i}"
        assert stored[reply.pk].thinking == f"thought {i}"
        assert stored[reply.pk].lease_expires_at >= before + timedelta(seconds=15)


async def test_a_reply_that_stops_before_its_batch_is_written_is_left_out_of_it():
    earlier, stopping, going_on = await streaming_replies(3)
    await flusher().write(Progress(earlier.pk, "first batch", "", 15.0))
    # The next batch waits for its turn (a second after the first): the stop lands before.
    cancelled = asyncio.create_task(flusher().write(Progress(stopping.pk, "late", "", 15.0)))
    await asyncio.sleep(0)
    cancelled.cancel()
    await flusher().write(Progress(going_on.pk, "kept", "", 15.0))

    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert (await Message.objects.aget(pk=stopping.pk)).content == ""
    assert (await Message.objects.aget(pk=going_on.pk)).content == "kept"
