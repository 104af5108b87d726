"""The reply generation task: Ollama stream -> coalesced frames to the conversation's group.

A generation belongs to no socket. It streams from Ollama, broadcasts HTML frames to the
conversation's group, flushes text to the database about once a second (renewing its lease),
answers sync requests from sockets that join mid-stream, and stops when asked on the channel layer.
Once the reply is stored, a conversation without a settled title asks for one (titles.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from channels.layers import BaseChannelLayer
from django.conf import settings
from django.utils import timezone

from chatsite.jobs import LeasedJob, released_lease
from chatsite.ollama import ChatMessage, ChatMetrics, OllamaClient, OllamaError
from conversations.chat import frames
from conversations.chat.coalescing import loop_lag
from conversations.chat.flushes import Progress, flusher
from conversations.chat.rendering import StreamingRenderer
from conversations.chat.titles import TitleJob, TitleRequest, announce_reply
from conversations.models import Conversation, Message

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: uuid.UUID) -> str:
    """Every socket showing the conversation listens here."""
    return f"chat.{conversation_id.hex}"


def control_group(conversation_id: uuid.UUID) -> str:
    """The running generation listens here for stop and sync requests."""
    return f"chat-control.{conversation_id.hex}"


FINAL_FIELDS = (
    "content",
    "thinking",
    "state",
    "error",
    "finished_at",
    "lease_owner",
    "lease_expires_at",
    "prompt_eval_count",
    "eval_count",
    "eval_duration_ns",
    "total_duration_ns",
)


@dataclass(frozen=True)
class GenerationTiming:
    flush_interval: float = 1.0
    coalesce_window: float = 0.025
    lease_seconds: float = field(default_factory=lambda: settings.CHAT_LEASE_SECONDS)
    sync_timeout: float = 2.0


@dataclass
class ReplyJob:
    """Everything a generation needs, gathered before it starts (no ORM access needed to stream)."""

    conversation_id: uuid.UUID
    owner_id: int
    message: Message
    model: str
    history: list[ChatMessage]
    host: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    think: bool | None = None
    # Ask for a title once the reply is stored (the conversation's title is not settled yet).
    make_title: bool = False
    first_user_text: str = ""


class Generation(LeasedJob):
    stop_event_type = "chat.stop"
    stopped_state = Message.State.STOPPED

    def __init__(
        self,
        job: ReplyJob,
        *,
        layer: BaseChannelLayer | None = None,
        client_factory: Callable[[], OllamaClient] | None = None,
        timing: GenerationTiming | None = None,
    ) -> None:
        super().__init__(control_group(job.conversation_id), layer)
        self.job = job
        self.client_factory = client_factory or (lambda: OllamaClient(job.host))
        self.timing = timing or GenerationTiming()
        self.flush_interval = self.timing.flush_interval
        self.lease_seconds = self.timing.lease_seconds
        self.id = uuid.uuid4().hex
        self.renderer = StreamingRenderer()
        self.thinking = ""
        self.seq = 0
        self.metrics: ChatMetrics | None = None
        self.done_reason: str | None = None
        self._pending_content: list[str] = []
        self._pending_thinking: list[str] = []
        self._emit_lock = asyncio.Lock()
        self._flushed_length = (0, 0)
        self._lease_renewed = timezone.now()

    @property
    def text(self) -> str:
        return self.renderer.text + "".join(self._pending_content)

    @property
    def group(self) -> str:
        return conversation_group(self.job.conversation_id)

    async def work(self) -> tuple[str, str]:
        await announce_reply(self.job.host, self.layer)
        return await self._stream()

    async def after_work(self) -> None:
        # Tokens that arrived while the sender's last frame was in flight.
        await self._emit_delta()

    async def _stream(self) -> tuple[str, str]:
        job = self.job
        try:
            async with (
                self.client_factory() as client,
                contextlib.aclosing(
                    client.chat(job.model, job.history, options=job.options, think=job.think)
                ) as chunks,
            ):
                async for chunk in chunks:
                    if chunk.thinking:
                        self._pending_thinking.append(chunk.thinking)
                        self.dirty.set()
                    if chunk.content:
                        self._pending_content.append(chunk.content)
                        self.dirty.set()
                    if chunk.done:
                        self.metrics = chunk.metrics
                        self.done_reason = chunk.done_reason
        except OllamaError as error:
            received = self.text or self.thinking or self._pending_thinking
            state = Message.State.INTERRUPTED if received else Message.State.FAILED
            return state, str(error)
        return Message.State.COMPLETE, ""

    async def send_frames(self) -> None:
        """The first token goes out at once; tokens arriving within the window share a frame
        (the window widens while the process is behind, see coalescing.py)."""
        lag = loop_lag()
        while True:
            await self.dirty.wait()
            self.dirty.clear()
            await self._emit_delta()
            if self.finished:
                return
            await lag.wait_window(self.timing.coalesce_window)

    async def _emit_delta(self) -> None:
        async with self._emit_lock:
            content = "".join(self._pending_content)
            thinking = "".join(self._pending_thinking)
            self._pending_content.clear()
            self._pending_thinking.clear()
            if not content and not thinking:
                return
            self.thinking += thinking
            update = self.renderer.feed(content) if content else None
            await self._broadcast(frames.delta(self.job.message.id, update, thinking))

    async def _broadcast(self, html: str) -> None:
        self.seq += 1
        await self.layer.group_send(
            self.group,
            {"type": "chat.frame", "html": html, "generation": self.id, "seq": self.seq},
        )

    async def on_control(self, event: dict[str, Any]) -> None:
        if event.get("type") == "chat.sync" and event.get("reply_channel"):
            await self._answer_sync(event["reply_channel"])

    async def _answer_sync(self, reply_channel: str) -> None:
        async with self._emit_lock:
            blocks_html, tail = self.renderer.snapshot()
            html = frames.message_replaced(
                self._snapshot_message(), blocks_html=blocks_html, tail=tail
            )
            await self.layer.send(
                reply_channel,
                {"type": "chat.synced", "html": html, "generation": self.id, "seq": self.seq},
            )

    def _snapshot_message(self) -> Message:
        message = self.job.message
        message.content = self.renderer.text
        message.thinking = self.thinking
        message.state = Message.State.STREAMING
        return message

    async def flush(self, lease_expires_at: datetime) -> None:
        """Write the text so far, and renew the lease now and then even when idle."""
        now = timezone.now()
        text, thinking = self.renderer.text, self.thinking
        changed = (len(text), len(thinking)) != self._flushed_length
        if not changed and (now - self._lease_renewed).total_seconds() < self.lease_seconds / 3:
            return
        # With every other reply of this process, in one statement (flushes.py); the lease then
        # runs from the moment of the write.
        await flusher().write(Progress(self.job.message.pk, text, thinking, self.lease_seconds))
        self._flushed_length = (len(text), len(thinking))
        self._lease_renewed = now

    async def finish(self, state: str, error: str) -> None:
        await self._finish(state, error)
        if state == Message.State.COMPLETE and self.job.make_title:
            await self._make_title()

    async def fail_unexpectedly(self) -> None:
        await Message.objects.filter(pk=self.job.message.pk).aupdate(
            state=Message.State.INTERRUPTED,
            error="The reply stopped because of an internal error; the text so far was kept.",
            content=self.renderer.text,
            **released_lease(),
        )

    async def _finish(self, state: str, error: str) -> None:
        final_blocks = self.renderer.finish()
        message = self.job.message
        message.content = self.renderer.text
        message.thinking = self.thinking
        message.state = state
        message.error = error
        message.finished_at = timezone.now()
        message.lease_owner, message.lease_expires_at = released_lease().values()
        if self.metrics:
            message.prompt_eval_count = self.metrics.prompt_eval_count or None
            message.eval_count = self.metrics.eval_count or None
            message.eval_duration_ns = self.metrics.eval_duration or None
            message.total_duration_ns = self.metrics.total_duration or None
        # An update, not a save: the conversation may have been deleted mid-reply.
        await Message.objects.filter(pk=message.pk).aupdate(
            **{name: getattr(message, name) for name in FINAL_FIELDS}
        )
        await Conversation.objects.filter(pk=self.job.conversation_id).aupdate(
            updated_at=timezone.now()
        )
        await self._broadcast(frames.finished(message, final_blocks))

    async def _make_title(self) -> None:
        """After the reply is stored and shown, so the title never delays it (see TitleJob)."""
        job = self.job
        request = TitleRequest(
            conversation_id=job.conversation_id,
            owner_id=job.owner_id,
            model=job.model,
            host=job.host,
            first_user_text=job.first_user_text,
            num_ctx=job.options.get("num_ctx"),
        )
        title = TitleJob(request, layer=self.layer, client_factory=self.client_factory)
        try:
            await title.run()
        except Exception:  # the reply is complete and stored: a title cannot undo that
            logger.exception("the title of %s could not be made", job.conversation_id)
