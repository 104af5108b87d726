"""HTML frames sent over chat sockets: htmx out-of-band envelopes rendered from templates."""

from __future__ import annotations

import uuid
from typing import Any

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

from chatsite.db_threads import in_worker_thread
from conversations.chat.rendering import StreamUpdate, render_markdown, stable_boundary
from conversations.chat.turn import StartedTurn
from conversations.models import Message


def message_context(message: Message) -> dict[str, Any]:
    """What the message partial needs: a streaming reply shows its unfinished block as text."""
    if message.role != Message.Role.ASSISTANT:
        return {"message": message}
    if message.state == Message.State.STREAMING:
        boundary = stable_boundary(message.content)
        return {
            "message": message,
            "blocks_html": render_markdown(message.content[:boundary]),
            "tail": message.content[boundary:],
        }
    return {"message": message, "blocks_html": render_markdown(message.content), "tail": ""}


async def message_contexts(messages: list[Message]) -> list[dict[str, Any]]:
    """Message contexts for a page, rendered in a worker thread: a long reply's Markdown is CPU
    time the event loop (every socket and async page of this process) must not spend."""
    return await in_worker_thread(_contexts)(messages)


def _contexts(messages: list[Message]) -> list[dict[str, Any]]:
    return [message_context(message) for message in messages]


async def message_replaced_off_loop(message: Message) -> str:
    """`message_replaced`, rendered in a worker thread (see message_contexts)."""
    return await in_worker_thread(message_replaced)(message)


def turn_started(turn: StartedTurn) -> str:
    return render_to_string(
        "conversations/frames/turn_started.html",
        {
            "turn": turn,
            "user_context": turn.user_message and message_context(turn.user_message),
            "reply_context": message_context(turn.reply),
        },
    )


def delta(message_id: uuid.UUID, update: StreamUpdate | None, thinking: str) -> str:
    """A streaming reply's new text. Built without the template engine: at load every socket
    gets one of these every few tens of milliseconds, and a template render cost more than the
    rest of the frame's way to the socket (bench/results.md). format_html escapes each value as a
    template would; the new blocks are already sanitized HTML."""
    parts = []
    if update is not None:
        if update.new_blocks_html:
            parts.append(format_html(_DELTA_BLOCKS, message_id, update.new_blocks_html))
        if update.tail_replaced:
            parts.append(format_html(_DELTA_TAIL, message_id, "innerHTML", update.tail))
        elif update.appended_text:
            parts.append(format_html(_DELTA_TAIL, message_id, "beforeend", update.appended_text))
    if thinking:
        parts.append(format_html(_DELTA_THINKING, message_id, thinking))
    return "".join(parts)


_DELTA_BLOCKS = '<div id="message-{}-blocks" hx-swap-oob="beforeend">{}</div>'
_DELTA_TAIL = '<div id="message-{}-tail" hx-swap-oob="{}">{}</div>'
_DELTA_THINKING = '<div id="message-{}-thinking" hx-swap-oob="beforeend">{}</div>'


def message_replaced(
    message: Message, *, blocks_html: SafeString | None = None, tail: str = ""
) -> str:
    """The whole message again, for a socket that joins late or reconnects."""
    context = message_context(message)
    if blocks_html is not None:
        context |= {"blocks_html": blocks_html, "tail": tail}
    return render_to_string("conversations/frames/message_replaced.html", context)


def finished(message: Message, final_blocks: str) -> str:
    return render_to_string(
        "conversations/frames/finished.html", {"message": message, "final_blocks": final_blocks}
    )


def title_changed(conversation_id: uuid.UUID, title: str) -> str:
    return render_to_string(
        "conversations/frames/title.html", {"conversation_id": conversation_id, "title": title}
    )


def refused(errors: list[str]) -> str:
    return render_to_string("conversations/frames/refused.html", {"errors": errors})


def accepted() -> str:
    """For the sending socket only: clear its composer (other tabs keep their drafts)."""
    return render_to_string("conversations/frames/accepted.html")
