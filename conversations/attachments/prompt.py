"""What the model is sent of a message's attachments: each document's text in a delimited block
after the message, and images as base64 (Ollama's `images`), earlier ones resent while they fit
in the context."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Sequence

from chatsite.db_threads import in_worker_thread
from conversations.attachments.intake import storage
from conversations.models import Attachment, Message

logger = logging.getLogger(__name__)

# What an image costs in context, roughly: 256 (gemma3) to 576 (llava) tokens and more for large
# images in some models. An estimate on the safe side; text is about 4 characters a token.
IMAGE_TOKENS = 768
CHARS_PER_TOKEN = 4
# Ollama's context when num_ctx is not set (servers with much memory may use more).
DEFAULT_CONTEXT = 4096


def attachments_of(message: Message) -> list[Attachment]:
    """The message's attachments (prefetched by the caller when it runs in async code)."""
    return list(message.attachments.all())


def document_block(attachment: Attachment) -> str:
    cut = ""
    if attachment.truncated:
        cut = (
            f"\n[Only the first {len(attachment.text):,} of {attachment.text_chars:,} characters "
            "of this file are included.]"
        )
    return (
        f"----- Attached file: {attachment.name} -----\n"
        f"{attachment.text}{cut}\n"
        f"----- End of {attachment.name} -----"
    )


def content_for_model(message: Message) -> str:
    """The user's text, then each attached document's text in its own block."""
    documents = [a for a in attachments_of(message) if not a.is_image]
    if not documents:
        return message.content
    return "\n\n".join([message.content, *(document_block(a) for a in documents)])


def estimated_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def images_to_send(
    messages: Sequence[Message], context_tokens: int | None
) -> dict[uuid.UUID, list[Attachment]]:
    """Which images go with which message: all of the newest message's, then earlier ones,
    newest first, while the estimate of the whole request stays within the context."""
    budget = context_tokens or DEFAULT_CONTEXT
    used = sum(estimated_tokens(content_for_model(m)) for m in messages)
    chosen: dict[uuid.UUID, list[Attachment]] = {}
    users = [m for m in messages if m.role == Message.Role.USER]
    answered = users[-1] if users else None
    for message in reversed(users):
        for image in (a for a in attachments_of(message) if a.is_image):
            if message is answered or used + IMAGE_TOKENS <= budget:
                chosen.setdefault(message.pk, []).append(image)
                used += IMAGE_TOKENS
    return chosen


async def encoded_images(
    chosen: dict[uuid.UUID, list[Attachment]],
) -> dict[uuid.UUID, tuple[str, ...]]:
    """The chosen images as Ollama takes them: plain base64 strings (no data: prefix), read in a
    worker thread (file reads must not hold up the event loop)."""
    if not chosen:
        return {}
    return await in_worker_thread(_read_all)(chosen)


def _read_all(chosen: dict[uuid.UUID, list[Attachment]]) -> dict[uuid.UUID, tuple[str, ...]]:
    encoded: dict[uuid.UUID, tuple[str, ...]] = {}
    for message_id, images in chosen.items():
        found = []
        for image in images:
            try:
                found.append(base64.b64encode(read_file(image)).decode("ascii"))
            except OSError:
                # A file removed from the storage by hand: the reply goes ahead without it.
                logger.warning("image %s of message %s is missing", image.file, message_id)
        encoded[message_id] = tuple(found)
    return encoded


def read_file(attachment: Attachment) -> bytes:
    with storage().open(attachment.file, "rb") as handle:
        data: bytes = handle.read()
    return data
