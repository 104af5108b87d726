"""chatsite's own JSON format, read strictly: a value of the wrong type or out of range refuses
the file in a sentence naming the chat, the message and the field."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings

from conversations.attachments.images import prepare_image
from conversations.attachments.intake import clean_name
from conversations.attachments.refusal import AttachmentRefused
from conversations.models import Attachment, Message
from conversations.transfer.importers.records import (
    ASSISTANT_NAME_LENGTH,
    FORMAT_VERSION,
    MAX_NANOSECONDS,
    MAX_TOKENS,
    MODEL_LENGTH,
    ROLES,
    STATES,
    TITLE_LENGTH,
    Fields,
    ImportedAttachment,
    ImportedConversation,
    ImportedMessage,
    ImportRejected,
    chat_label,
    shown,
    valid_options,
)


def read_chatsite(document: dict[str, Any]) -> list[ImportedConversation]:
    top = Fields(document, "The file")
    version = document.get("version")
    if version != FORMAT_VERSION:
        raise ImportRejected(
            f"The file is chatsite export version {shown(version)}; this site reads "
            f"version {FORMAT_VERSION}."
        )
    conversations = []
    for number, raw in enumerate(top.items("conversations"), start=1):
        label = chat_label(number, raw.get("title") if isinstance(raw, dict) else None)
        conversations.append(_chatsite_conversation(Fields(raw, label)))
    return conversations


def _chatsite_conversation(f: Fields) -> ImportedConversation:
    messages = [
        _chatsite_message(Fields(raw, f"{f.where}, message {number}"))
        for number, raw in enumerate(f.items("messages"), start=1)
    ]
    return ImportedConversation(
        title=f.text("title", max_length=TITLE_LENGTH),
        messages=messages,
        model=f.text("model", max_length=MODEL_LENGTH),
        system_prompt=f.text("system_prompt"),
        options=valid_options(f.obj("options"), f.where),
        think=f.boolean("think", True),
        pinned=f.boolean("pinned", False),
        archived=f.boolean("archived", False),
        created_at=f.moment("created_at"),
        updated_at=f.moment("updated_at"),
        assistant_name=f.text("assistant_name", max_length=ASSISTANT_NAME_LENGTH),
        assistant_settings=_assistant_settings(f),
    )


def _assistant_settings(f: Fields) -> dict[str, Any]:
    """The settings a conversation copied from its assistant: read as strictly as its own."""
    raw = f.obj("assistant_settings")
    if not raw:
        return {}
    settings = Fields(raw, f"{f.where}, assistant settings")
    return {
        "model": settings.text("model", max_length=MODEL_LENGTH),
        "system_prompt": settings.text("system_prompt"),
        "options": valid_options(settings.obj("options"), settings.where),
        "think": settings.boolean("think", True),
    }


def _chatsite_message(f: Fields) -> ImportedMessage:
    state = f.choice("state", STATES, default=Message.State.COMPLETE)
    error = f.text("error")
    if state == Message.State.STREAMING:
        # No process is writing this reply any more: keep what was exported, as a lost reply.
        state, error = Message.State.INTERRUPTED, error or "This reply was exported unfinished."
    return ImportedMessage(
        role=f.choice("role", ROLES),
        content=f.text("content", required=True),
        thinking=f.text("thinking"),
        state=state,
        error=error,
        model=f.text("model", max_length=MODEL_LENGTH),
        # What the reply was generated with: the options chatsite sends, nothing else.
        options=valid_options(f.obj("options"), None),
        prompt_eval_count=f.count("prompt_eval_count", MAX_TOKENS),
        eval_count=f.count("eval_count", MAX_TOKENS),
        eval_duration_ns=f.count("eval_duration_ns", MAX_NANOSECONDS),
        total_duration_ns=f.count("total_duration_ns", MAX_NANOSECONDS),
        created_at=f.moment("created_at"),
        finished_at=f.moment("finished_at"),
        attachments=[
            _chatsite_attachment(Fields(raw, f"{f.where}, attachment {number}"))
            for number, raw in enumerate(_listed(f, "attachments"), start=1)
        ],
    )


def _listed(f: Fields, key: str) -> list[Any]:
    return [] if f.data.get(key) is None else f.items(key)


def _chatsite_attachment(f: Fields) -> ImportedAttachment:
    """An exported attachment, checked again as an upload is: an image is decoded, bounded
    and re-encoded; a document's text is cut at CHAT_MAX_ATTACHMENT_CHARS."""
    kind = f.choice("kind", list(Attachment.Kind.values))
    name = clean_name(f.text("name", required=True))
    if kind == Attachment.Kind.IMAGE:
        try:
            data = base64.b64decode(f.text("data", required=True), validate=True)
            image = prepare_image(name, data, settings.CHAT_IMAGE_MAX_PIXELS)
        except binascii.Error:
            raise ImportRejected(f'{f.where}: "data" must be the image in base64.') from None
        except AttachmentRefused as refusal:
            raise ImportRejected(f"{f.where}: {refusal}") from None
        return ImportedAttachment(
            kind=kind,
            name=name,
            content_type=image.content_type,
            size=len(image.data),
            data=image.data,
            width=image.width,
            height=image.height,
        )
    text = f.text("text", required=True)
    limit = settings.CHAT_MAX_ATTACHMENT_CHARS
    chars = f.count("text_chars", 2**31 - 1) or len(text)
    return ImportedAttachment(
        kind=kind,
        name=name,
        content_type=f.text("content_type", max_length=100) or "text/plain",
        size=f.count("size", 2**62) or len(text.encode()),
        text=text[:limit],
        text_chars=max(chars, len(text)),
    )
