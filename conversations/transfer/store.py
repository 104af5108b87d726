"""Save imported conversations: whole conversations in short transactions, so an import of any
size never holds the database's write lock for long and never stores half a conversation."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.text import Truncator

from chatsite.accounts.models import User
from conversations.attachments.intake import store_once
from conversations.models import Attachment, Conversation, Message
from conversations.transfer.export import CONVERSATION_FIELDS, MESSAGE_FIELDS
from conversations.transfer.importers import TITLE_LENGTH, ImportedConversation, ImportedMessage
from conversations.transfer.importers.records import ImportedAttachment

# An import transaction writes at most CHAT_IMPORT_BATCH_MESSAGES messages and about this many
# characters of text: indexing text for search costs SQLite about 0.1 s per MB, so a batch holds
# the write lock for well under a second however long its messages are.
BATCH_CHARS = 5_000_000
# SQLite retries a writer waiting for the lock at most 100 ms apart; an import that pauses that
# long between its batches lets every waiting writer in instead of taking the lock straight back.
LOCK_PAUSE = 0.1


@dataclass(frozen=True)
class ImportSummary:
    conversations: int  # conversations stored, each part of a split conversation counted
    messages: int
    split: int = 0  # conversations of the file stored in several parts


class ImportInterrupted(Exception):
    """A batch failed after earlier ones were committed. What is stored is whole conversations:
    `saved` of the `planned` ones; the rest was not written."""

    def __init__(self, saved: ImportSummary, planned: int, error: Exception) -> None:
        super().__init__(f"{error}")
        self.saved = saved
        self.planned = planned
        self.error = error


def save_imported(
    user: User,
    imported: list[ImportedConversation],
    *,
    progress: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Write the conversations for `user`, a batch of whole conversations per transaction.

    Each transaction is short, so other people's writes (SQLite has one writer at a time) are
    served between the batches instead of waiting for the whole import; `progress` hears about
    each committed batch. A conversation too long for one batch is stored as several, titled
    "(part 1 of 3)" and so on, so that no conversation is ever stored with part of its messages.
    If a batch fails, the earlier batches stay and ImportInterrupted says how many.
    """
    max_messages = settings.CHAT_IMPORT_BATCH_MESSAGES
    planned: list[ImportedConversation] = []
    split = 0
    now = timezone.now()
    for item in imported:
        parts = in_parts(item, max_messages, BATCH_CHARS, now)
        split += len(parts) > 1
        planned.extend(parts)
    saved = ImportSummary(0, 0, split)
    for number, batch in enumerate(batches(planned, max_messages, BATCH_CHARS)):
        if number and connection.vendor == "sqlite" and not connection.in_atomic_block:
            time.sleep(LOCK_PAUSE)
        try:
            written = _save_batch(user, batch, now)
        # What the database can refuse: a constraint, a lock held too long, a value it cannot
        # encode or store.
        except (DatabaseError, ValueError, OverflowError) as error:
            raise ImportInterrupted(saved, len(planned), error) from error
        saved = ImportSummary(saved.conversations + len(batch), saved.messages + written, split)
        if progress is not None:
            progress(saved)
    return saved


def in_parts(
    conversation: ImportedConversation, max_messages: int, max_chars: int, now: datetime
) -> list[ImportedConversation]:
    """The conversation, or consecutive parts of it that each fit in one batch. Messages
    without a time get one, in the file's order, so the parts follow each other too."""
    total = sum(_chars(m) for m in conversation.messages)
    if len(conversation.messages) <= max_messages and total <= max_chars:
        return [conversation]
    groups: list[list[ImportedMessage]] = [[]]
    size = 0
    start = conversation.created_at or now
    for position, message in enumerate(conversation.messages):
        if message.created_at is None:
            moment = start + timedelta(microseconds=position)
            message = dataclasses.replace(message, created_at=moment)
        weight = _chars(message)
        if groups[-1] and (len(groups[-1]) >= max_messages or size + weight > max_chars):
            groups.append([])
            size = 0
        groups[-1].append(message)
        size += weight
    if len(groups) == 1:  # one message longer than a batch's characters: it cannot be split
        return [conversation]
    parts = []
    for number, messages in enumerate(groups, start=1):
        suffix = f" (part {number} of {len(groups)})"
        title = Truncator(conversation.title).chars(TITLE_LENGTH - len(suffix)) + suffix
        last = number == len(groups)
        parts.append(
            dataclasses.replace(
                conversation,
                title=title.strip(),
                messages=messages,
                created_at=messages[0].created_at or conversation.created_at,
                updated_at=conversation.updated_at if last else messages[-1].created_at,
            )
        )
    return parts


def batches(
    conversations: list[ImportedConversation], max_messages: int, max_chars: int
) -> Iterator[list[ImportedConversation]]:
    """Whole conversations grouped so a group stays within `max_messages` messages and about
    `max_chars` characters; a conversation without messages still counts as a row to write."""
    batch: list[ImportedConversation] = []
    count = size = 0
    for conversation in conversations:
        rows = max(len(conversation.messages), 1)
        chars = sum(_chars(m) for m in conversation.messages)
        if batch and (count + rows > max_messages or size + chars > max_chars):
            yield batch
            batch, count, size = [], 0, 0
        batch.append(conversation)
        count += rows
        size += chars
    if batch:
        yield batch


def _chars(message: ImportedMessage) -> int:
    return len(message.content) + len(message.thinking)


def _save_batch(user: User, batch: list[ImportedConversation], now: datetime) -> int:
    """One transaction, as short as it can be: the rows and their values are ready before it
    starts, and it is two INSERT statements."""
    conversations, messages, attachments = [], [], []
    for item in batch:
        conversation = Conversation(
            owner=user, **{name: getattr(item, name) for name in CONVERSATION_FIELDS}
        )
        conversation.created_at = item.created_at or now
        conversation.updated_at = item.updated_at or conversation.created_at
        # A title that came with the conversation is kept; an untitled one gets a generated title
        # after its next reply.
        conversation.title_settled = bool(item.title.strip())
        conversations.append(conversation)
        for position, m in enumerate(item.messages):
            message = Message(
                conversation=conversation, **{n: getattr(m, n) for n in MESSAGE_FIELDS}
            )
            # Without a time, keep the file's order: the thread is shown in time order.
            moment = conversation.created_at + timedelta(microseconds=position)
            message.created_at = m.created_at or moment
            messages.append(message)
            attachments += [
                _attachment(user, message, position, a, now)
                for position, a in enumerate(m.attachments)
            ]
    statements = [
        _insert_statement(conversations),
        _insert_statement(messages),
        _insert_statement(attachments),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, rows in statements:
            if rows:
                cursor.executemany(sql, rows)
    return len(messages)


def _attachment(
    user: User, message: Message, position: int, imported: ImportedAttachment, now: datetime
) -> Attachment:
    """The row for an imported attachment; an image's file is stored first (by its hash, so a
    file already there is shared; one left by a failed batch is only an unused file)."""
    data = imported.data if imported.kind == Attachment.Kind.IMAGE else imported.text.encode()
    digest = hashlib.sha256(data).hexdigest()
    stored = ""
    if imported.kind == Attachment.Kind.IMAGE:
        extension = "png" if imported.content_type == "image/png" else "jpg"
        stored = store_once(f"images/{digest[:2]}/{digest}.{extension}", imported.data)
    attachment = Attachment(
        owner=user,
        message=message,
        kind=imported.kind,
        name=imported.name,
        content_type=imported.content_type,
        size=imported.size,
        sha256=digest,
        file=stored,
        width=imported.width,
        height=imported.height,
        text=imported.text,
        text_chars=imported.text_chars,
        position=position,
    )
    attachment.created_at = now
    return attachment


def _insert_statement(objects: list[Any]) -> tuple[str, list[list[Any]]]:
    """An INSERT of the rows with every value as given. bulk_create would stamp the auto_now
    fields (created_at, updated_at) with the current time, and putting the file's times back
    with bulk_update costs more than the insert itself. The search index follows through the
    database's own triggers or generated column."""
    if not objects:
        return "", []
    meta = type(objects[0])._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"
    rows = [
        [f.get_db_prep_save(getattr(o, f.attname), connection) for f in fields] for o in objects
    ]
    return sql, rows
