"""Conversation titles: the first words until the model is asked, once, after a reply completes;
its answer cleaned to one short line; a new title shown live in every tab of the owner.

A title is never worth a person's wait, so a title request gives way to replies (see TitleJob).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.layers import BaseChannelLayer
from django.conf import settings

from chatsite.accounts.live import user_group
from chatsite.channel_layer import default_layer
from chatsite.jobs import LeasedJob
from chatsite.ollama import OllamaClient, OllamaError
from conversations.chat import frames
from conversations.models import Conversation, Message

logger = logging.getLogger(__name__)

# About six words; a model that rambles is cut off here instead of holding the server.
TITLE_TOKENS = 24
TITLE_CHARS = 80
FIRST_WORDS_CHARS = 60
PROMPT_CHARS = 2000
PROMPT = (
    "Write a title of at most six words for a conversation that begins with the message below. "
    "Answer with the title only: no quotes, no Markdown, no full stop.\n\n"
)
REPLY_STARTING = "chat.reply_starting"


def replies_group(host: str | None) -> str:
    """A reply about to ask an Ollama server says so here; title requests on it listen."""
    address = (settings.OLLAMA_HOST if host is None else host).rstrip("/")
    return "ollama-replies." + hashlib.sha256(address.encode()).hexdigest()[:32]


async def announce_reply(host: str | None, layer: BaseChannelLayer) -> None:
    """Every reply calls this just before it asks Ollama: title requests on that server give way."""
    await layer.group_send(replies_group(host), {"type": REPLY_STARTING})


@dataclass(frozen=True)
class TitleRequest:
    conversation_id: uuid.UUID
    owner_id: int
    model: str
    host: str | None
    first_user_text: str
    # The conversation's context size, sent again: another one would make Ollama reload the model.
    num_ctx: int | None = None


class TitleJob(LeasedJob):
    """One title request, made after a reply is stored and shown (its finish awaits this).

    It never queues ahead of a person's reply on the same server:
    - it is capped at TITLE_TOKENS, so even a slow model holds the server only briefly;
    - it listens on the server's replies group first, then skips if a reply of this conversation
      is already streaming (one that announced itself before the title listened);
    - a reply announced on the same server while the title waits or runs stops it: the request is
      closed and Ollama drops it. Its stop is giving way.
    A reply of another conversation that announced itself just before the title listened can still
    find the title ahead of it; the token cap bounds that wait. A skipped, stopped or failed title
    leaves the conversation's title unsettled, so it is asked again after the next reply.

    The job skeleton is used for its stop; there is no row to lease, so flush does nothing.
    """

    stop_event_type = REPLY_STARTING
    stopped_state = "gave way"
    ANSWERED, SKIPPED, FAILED = "answered", "skipped", "failed"

    def __init__(
        self,
        request: TitleRequest,
        *,
        layer: BaseChannelLayer | None = None,
        client_factory: Callable[[], OllamaClient] | None = None,
    ) -> None:
        super().__init__(replies_group(request.host), layer)
        self.request = request
        self.client_factory = client_factory or (lambda: OllamaClient(request.host))
        self.title = ""

    async def work(self) -> tuple[str, str]:
        request = self.request
        streaming = Message.objects.filter(conversation_id=request.conversation_id)
        if await streaming.live_streaming().aexists():
            return self.SKIPPED, ""
        options: dict[str, Any] = {"num_predict": TITLE_TOKENS}
        if request.num_ctx:
            options["num_ctx"] = request.num_ctx
        prompt = PROMPT + request.first_user_text[:PROMPT_CHARS]
        try:
            async with self.client_factory() as client:
                result = await client.generate(request.model, prompt, think=False, options=options)
        except OllamaError as error:
            return self.FAILED, str(error)
        self.title = clean_title(result.response)
        return self.ANSWERED, ""

    async def flush(self, lease_expires_at: datetime) -> None:
        """Nothing is stored while the title is asked for."""

    async def fail_unexpectedly(self) -> None:
        """Nothing was stored; the first words stay."""

    async def finish(self, state: str, error: str) -> None:
        request = self.request
        if state == self.FAILED:
            logger.info("title generation failed, keeping the first words: %s", error)
        if state != self.ANSWERED:
            return
        # Asked and answered: settled, even when the answer was unusable (the first words stay).
        # Only while unsettled: a rename made while the reply was written wins.
        fields: dict[str, Any] = {"title_settled": True}
        if self.title:
            fields["title"] = self.title
        stored = await Conversation.objects.filter(
            pk=request.conversation_id, title_settled=False
        ).aupdate(**fields)
        if stored and self.title:
            await announce_title(request.owner_id, request.conversation_id, self.title, self.layer)


async def announce_title(
    owner_id: int,
    conversation_id: uuid.UUID,
    title: str,
    layer: BaseChannelLayer | None = None,
) -> None:
    """Show a new title in every open tab of the owner (sidebar, header and the browser tab)."""
    html = frames.title_changed(conversation_id, title)
    await (layer or default_layer()).group_send(
        user_group(owner_id), {"type": "chat.frame", "html": html}
    )


_BLOCK_MARKER = re.compile(r"^(?:#{1,6}|>|[-+•]|\d{1,2}[.)])\s+")
_LABEL = re.compile(r"^(?:conversation\s+)?title\s*[:\-–—]\s*", re.IGNORECASE)
_INLINE_MARKUP = re.compile(r"[*`]|(?<!\w)_+|_+(?!\w)")
_DOUBLE_QUOTES = re.compile(r"[\"“”„«»]")
_QUOTED = re.compile(r"(?<!\w)['‘](.+?)['’](?!\w)")
_EDGE = " \t'‘’"
_TRAILING = re.compile(r"[\s.,;:!?…\-–—'‘’]+$")


def clean_title(raw: str) -> str:
    """A model's answer as a title: its first line without Markdown, quotes, a "Title:" label or
    trailing punctuation, at most TITLE_CHARS long and cut between words."""
    line = next((line for line in raw.splitlines() if line.strip()), "")
    title = line.strip()
    while _BLOCK_MARKER.match(title):
        title = _BLOCK_MARKER.sub("", title, count=1)
    title = _INLINE_MARKUP.sub("", title)
    title = _DOUBLE_QUOTES.sub("", title)
    title = _LABEL.sub("", title.strip(_EDGE))
    title = _QUOTED.sub(r"\1", title)
    title = " ".join(title.split()).strip(_EDGE)
    return _TRAILING.sub("", _cut(title, TITLE_CHARS))


def first_words(text: str) -> str:
    """The title a conversation starts with: its first message, on one line, cut between words."""
    words = " ".join(text.split())
    if len(words) <= FIRST_WORDS_CHARS:
        return words
    return _TRAILING.sub("", _cut(words, FIRST_WORDS_CHARS - 1)) + "…"


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending at the end of a word; one longer word is cut anyway."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]  # a space just after the limit ends the last word cleanly
    return head.rsplit(" ", 1)[0] if " " in head else text[:limit]
