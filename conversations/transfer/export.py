"""Export a user's conversations (Markdown, chatsite JSON).

The JSON format is versioned ({"format": "chatsite", "version": 1, "conversations": [...]}) and
carries every field needed to import a conversation back unchanged except its ids, which are
always new: an import never touches existing rows and belongs to the importing user only.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from itertools import islice
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from chatsite.accounts.models import User
from chatsite.db_threads import in_worker_thread
from conversations.attachments.prompt import read_file
from conversations.models import Attachment, Conversation, Message
from conversations.transfer.importers import (
    FORMAT_NAME,
    FORMAT_VERSION,
)

# The fields of chatsite's JSON format, as exported and as imported back.
MESSAGE_FIELDS = (
    "role", "content", "thinking", "state", "error", "model", "options", "prompt_eval_count",
    "eval_count", "eval_duration_ns", "total_duration_ns", "created_at", "finished_at",
)  # fmt: skip
CONVERSATION_FIELDS = (
    "title", "model", "system_prompt", "options", "think", "pinned", "archived", "created_at",
    "updated_at", "assistant_name", "assistant_settings",
)  # fmt: skip
EXPORT_BATCH = 200  # conversations read per query while streaming an export of everything


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
        "messages": [message_record(m) for m in messages],
    }


def message_record(message: Message) -> dict[str, Any]:
    record = {
        "id": str(message.pk),
        **{name: _value(getattr(message, name)) for name in MESSAGE_FIELDS},
    }
    # Prefetched by the callers; absent for a message without attachments.
    if attachments := list(message.attachments.all()):
        record["attachments"] = [attachment_record(a) for a in attachments]
    return record


def attachment_record(attachment: Attachment) -> dict[str, Any]:
    """An image with its bytes in base64, so an export imports back whole; a document's text."""
    record: dict[str, Any] = {
        "kind": attachment.kind,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }
    if attachment.is_image:
        record |= {
            "width": attachment.width,
            "height": attachment.height,
            "data": base64.b64encode(read_file(attachment)).decode("ascii"),
        }
    else:
        record |= {"text": attachment.text, "text_chars": attachment.text_chars}
    return record


def document_head() -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
    }


async def single_export(conversation: Conversation) -> str:
    """One conversation as a complete chatsite JSON document (written in a worker thread: a
    long conversation takes a while to serialise, and the event loop serves everyone)."""
    messages = [m async for m in _thread(Message.objects.filter(conversation=conversation))]
    return await in_worker_thread(_single_document)(conversation, messages)


def _single_document(conversation: Conversation, messages: list[Message]) -> str:
    document = {**document_head(), "conversations": [conversation_record(conversation, messages)]}
    return json.dumps(document, ensure_ascii=False, indent=1)


async def export_all(user: User) -> AsyncIterator[str]:
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
        conversations = [c async for c in owned.filter(pk__in=batch)]
        records = await in_worker_thread(_records)(conversations, threads)
        yield separator + records
        separator = ",\n"
    yield "\n]}\n"


def _records(conversations: list[Conversation], threads: dict[Any, list[Message]]) -> str:
    return ",\n".join(
        json.dumps(conversation_record(c, threads[c.pk]), ensure_ascii=False) for c in conversations
    )


def _thread(messages: Any) -> Any:
    ordered = messages.order_by("conversation_id", "created_at", "-role", "id")
    return ordered.prefetch_related("attachments")


async def markdown_context(conversation: Conversation) -> dict[str, Any]:
    messages = [m async for m in _thread(Message.objects.filter(conversation=conversation))]
    return {
        "conversation": conversation,
        "messages": [
            {
                "message": m,
                "thinking_quoted": _quoted(m.thinking),
                "files": [(a, zipped_name(a)) for a in m.attachments.all()],
            }
            for m in messages
        ],
    }


def zipped_name(attachment: Attachment) -> str:
    """Where an attachment is in a Markdown export's zip: files/, unique by its id."""
    stem = slugify(attachment.name.rsplit(".", 1)[0])[:40] or "file"
    if attachment.is_image:
        extension = "png" if attachment.content_type == "image/png" else "jpg"
    else:
        extension = "txt"
    return f"files/{attachment.pk.hex[:8]}-{stem}.{extension}"


def markdown_zip(markdown_name: str, text: str, context: dict[str, Any]) -> bytes:
    """The Markdown and every file it links to, in one zip (written in a worker thread)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(markdown_name, text)
        for item in context["messages"]:
            for attachment, name in item["files"]:
                data = read_file(attachment) if attachment.is_image else attachment.text.encode()
                archive.writestr(name, data)
    return out.getvalue()


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def export_filename(conversation: Conversation, extension: str) -> str:
    slug = slugify(conversation.title)[:60].strip("-") or "conversation"
    return f"{slug}-{conversation.pk.hex[:8]}.{extension}"
