"""Export a user's conversations (Markdown, chatsite JSON) and save imported ones.

The JSON format is versioned ({"format": "chatsite", "version": 1, "conversations": [...]}) and
carries every field needed to import a conversation back unchanged except its ids, which are
always new: an import never touches existing rows and belongs to the importing user only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from conversations.importers import FORMAT_NAME, FORMAT_VERSION, ImportedConversation
from conversations.models import Conversation, Message

EXPORT_BATCH = 200  # conversations read per query while streaming an export of everything
WRITE_BATCH = 500
MESSAGE_FIELDS = (
    "role", "content", "thinking", "state", "error", "model", "options", "prompt_eval_count",
    "eval_count", "eval_duration_ns", "total_duration_ns", "created_at", "finished_at",
)  # fmt: skip
CONVERSATION_FIELDS = (
    "title", "model", "system_prompt", "options", "think", "pinned", "archived", "created_at",
    "updated_at",
)  # fmt: skip


def batched(items: Iterable[Any], size: int) -> Iterable[tuple[Any, ...]]:
    """itertools.batched, which arrives in Python 3.12."""
    iterator = iter(items)
    while batch := tuple(islice(iterator, size)):
        yield batch


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def conversation_record(conversation: Conversation, messages: Iterable[Message]) -> dict:
    """One conversation as it appears in chatsite's JSON export."""
    return {
        "id": str(conversation.pk),
        **{name: _value(getattr(conversation, name)) for name in CONVERSATION_FIELDS},
        "messages": [
            {"id": str(m.pk), **{name: _value(getattr(m, name)) for name in MESSAGE_FIELDS}}
            for m in messages
        ],
    }


def document_head() -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
    }


async def single_export(conversation: Conversation) -> str:
    """One conversation as a complete chatsite JSON document."""
    messages = [m async for m in _thread(Message.objects.filter(conversation=conversation))]
    document = {**document_head(), "conversations": [conversation_record(conversation, messages)]}
    return json.dumps(document, ensure_ascii=False, indent=1)


async def export_all(user: Any) -> AsyncIterator[str]:
    """Every conversation of the user as one JSON document, a batch of conversations at a time,
    so a large account streams out without being held in memory."""
    head = json.dumps(document_head(), ensure_ascii=False)
    yield head[:-1] + ', "conversations": [\n'
    owned = Conversation.objects.for_user(user).order_by("created_at", "id")
    ids = [pk async for pk in owned.values_list("pk", flat=True)]
    separator = ""
    for batch in batched(ids, EXPORT_BATCH):
        threads: dict[Any, list[Message]] = {pk: [] for pk in batch}
        messages = Message.objects.for_user(user).filter(conversation_id__in=batch)
        async for message in _thread(messages):
            threads[message.conversation_id].append(message)
        async for conversation in owned.filter(pk__in=batch):
            record = conversation_record(conversation, threads[conversation.pk])
            yield separator + json.dumps(record, ensure_ascii=False)
            separator = ",\n"
    yield "\n]}\n"


def _thread(messages: Any) -> Any:
    return messages.order_by("conversation_id", "created_at", "-role", "id")


async def markdown_context(conversation: Conversation) -> dict[str, Any]:
    messages = [m async for m in _thread(Message.objects.filter(conversation=conversation))]
    return {
        "conversation": conversation,
        "messages": [{"message": m, "thinking_quoted": _quoted(m.thinking)} for m in messages],
    }


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def export_filename(conversation: Conversation, extension: str) -> str:
    slug = slugify(conversation.title)[:60].strip("-") or "conversation"
    return f"{slug}-{conversation.pk.hex[:8]}.{extension}"


@dataclass(frozen=True)
class ImportSummary:
    conversations: int
    messages: int


def save_imported(user: Any, imported: list[ImportedConversation]) -> ImportSummary:
    """Write the conversations for `user`, all or nothing.

    bulk_create would stamp created_at/updated_at with the current time (auto_now fields), so
    the times from the file are put back with bulk_update, which leaves them as given. The
    search index follows through the database's own triggers or generated column.
    """
    now = timezone.now()
    with transaction.atomic():
        conversations = [
            Conversation(owner=user, **{name: getattr(item, name) for name in CONVERSATION_FIELDS})
            for item in imported
        ]
        Conversation.objects.bulk_create(conversations, batch_size=WRITE_BATCH)
        for conversation, item in zip(conversations, imported, strict=True):
            conversation.created_at = item.created_at or now
            conversation.updated_at = item.updated_at or conversation.created_at
        Conversation.objects.bulk_update(
            conversations, ["created_at", "updated_at"], batch_size=WRITE_BATCH
        )
        messages, moments = [], []
        for conversation, item in zip(conversations, imported, strict=True):
            for position, m in enumerate(item.messages):
                fields = {name: getattr(m, name) for name in MESSAGE_FIELDS}
                messages.append(Message(conversation=conversation, **fields))
                # Without a time, keep the file's order: the thread is shown in time order.
                fallback = conversation.created_at + timedelta(microseconds=position)
                moments.append(m.created_at or fallback)
        for batch in batched(zip(messages, moments, strict=True), WRITE_BATCH):
            created = Message.objects.bulk_create([message for message, _ in batch])
            for message, moment in zip(created, (moment for _, moment in batch), strict=True):
                message.created_at = moment
            Message.objects.bulk_update(created, ["created_at"])
    return ImportSummary(len(conversations), len(messages))
