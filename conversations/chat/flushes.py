"""Streaming replies' progress written for the whole process at once: one statement (a bulk UPDATE)
about once a second carries every reply's text so far and renews its lease, instead of one
statement and one hop to the database thread per reply (bench/results.md).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from channels.db import database_sync_to_async

from chatsite.jobs import lease_until
from chatsite.per_loop import PerLoop
from conversations.models import Message

# At most this often per process; sooner when leases are short, so a lease never lapses while
# its reply waits for the batch.
FLUSH_SECONDS = 1.0
FIELDS = ("content", "thinking", "lease_expires_at")


@dataclass(frozen=True)
class Progress:
    """A streaming reply as far as it got."""

    message_id: uuid.UUID
    content: str
    thinking: str
    lease_seconds: float


@dataclass
class _Batch:
    rows: dict[uuid.UUID, Progress] = field(default_factory=dict)
    written: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    interval: float = FLUSH_SECONDS


class ReplyFlusher:
    """One per event loop (see `flusher()`): collects progress and writes it in batches."""

    def __init__(self) -> None:
        self._open: _Batch | None = None
        self._last_write = 0.0
        self._writers: set[asyncio.Task[None]] = set()

    async def write(self, progress: Progress) -> None:
        """Store this reply's progress with the next batch; returns once it is written.

        A caller cancelled before its batch is taken drops its row (its reply is about to store
        its outcome itself); one cancelled while the batch is being written waits for the write,
        so a late batch never lands after the outcome."""
        batch = self._open
        if batch is None:
            batch = self._open = _Batch()
            writer = asyncio.get_running_loop().create_task(self._write_when_due(batch))
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        batch.rows[progress.message_id] = progress
        batch.interval = min(batch.interval, progress.lease_seconds / 4)
        try:
            await asyncio.shield(batch.written)
        except asyncio.CancelledError:
            if self._open is batch:
                batch.rows.pop(progress.message_id, None)
            else:
                await asyncio.wait({batch.written})
            raise

    async def _write_when_due(self, batch: _Batch) -> None:
        loop = asyncio.get_running_loop()
        wait = self._last_write + batch.interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._open = None
        try:
            if batch.rows:
                await _store(list(batch.rows.values()))
        except Exception as error:  # each waiting reply's flush raises it, as a lone write would
            batch.written.set_exception(error)
            batch.written.add_done_callback(_retrieved)
        else:
            batch.written.set_result(None)
        finally:
            self._last_write = loop.time()


@database_sync_to_async
def _store(rows: list[Progress]) -> None:
    # Leases run from the moment of the write, not from when each reply handed in its text.
    messages = [
        Message(
            pk=row.message_id,
            content=row.content,
            thinking=row.thinking,
            lease_expires_at=lease_until(row.lease_seconds),
        )
        for row in rows
    ]
    Message.objects.bulk_update(messages, FIELDS)


def _retrieved(future: asyncio.Future[None]) -> None:
    future.exception()  # nobody may be left to await it: not "never retrieved"


_flushers = PerLoop(ReplyFlusher)


def flusher() -> ReplyFlusher:
    """This event loop's flusher (an asyncio future belongs to one loop)."""
    return _flushers.get()
