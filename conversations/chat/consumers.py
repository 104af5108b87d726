"""Chat sockets, kept thin: authorise, validate, call conversations.chat, forward group frames."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, cast

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chatsite.accounts.access import can_use_site, socket_may_stay
from chatsite.accounts.live import user_group
from chatsite.accounts.models import User
from conversations.chat import actions as chat
from conversations.chat import frames
from conversations.chat.generation import GenerationTiming, control_group, conversation_group
from conversations.models import Conversation, Message

UNREADABLE = "That message could not be read. Reload the page and try again."
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# Group events whose handlers only pass HTML on to the socket.
FORWARDED_WITHOUT_DATABASE = frozenset({"chat.frame", "chat.synced"})


class ChatConsumer(AsyncWebsocketConsumer):
    user: User
    conversation: Conversation
    # While waiting for the running generation's snapshot, its frames are held back so the
    # snapshot and the live frames join without a gap or a repeat.
    awaiting_sync = False
    held_frames: list[dict[str, Any]]
    synced: tuple[str, int] | None = None
    sync_fallback: asyncio.Task[None] | None = None
    revoked = False

    async def connect(self) -> None:
        scope_user = self.scope["user"]
        if not await database_sync_to_async(can_use_site)(scope_user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # can_use_site passed, so the lazy scope user is a signed-in account.
        user = cast(User, scope_user)
        conversation = await _owned_conversation(user, self.scope["url_route"]["kwargs"])
        if conversation is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.user, self.conversation, self.held_frames = user, conversation, []
        await self.channel_layer.group_add(conversation_group(conversation.id), self.channel_name)
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.accept()
        await self._catch_up()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler: a hop to the one
        # database thread. Forwarding a generation's frame touches no database, and at load that
        # hop, once per frame per socket, cost more than the rest of the frame's way out.
        if message.get("type") in FORWARDED_WITHOUT_DATABASE:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        if self.sync_fallback:
            self.sync_fallback.cancel()
        if hasattr(self, "conversation"):
            await self.channel_layer.group_discard(
                conversation_group(self.conversation.id), self.channel_name
            )
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.revoked:  # closed by us; frames may still come until the client has said goodbye
            return
        data = _parse_frame(text_data)
        if data is None:
            await self.send(text_data=frames.refused([UNREADABLE]))
            return
        action = data.get("action") or "send"
        try:
            if action == "send":
                await chat.send_message(self.user, self.conversation, data)
                await self.send(text_data=frames.accepted())
            elif action == "stop":
                await chat.stop(self.conversation)
            elif action == "regenerate":
                await chat.regenerate(self.user, self.conversation)
            elif action == "edit":
                await chat.edit_and_resend(self.user, self.conversation, data)
            else:
                await self.send(text_data=frames.refused([UNREADABLE]))
        except chat.ChatRefused as refusal:
            await self.send(text_data=frames.refused(refusal.errors))

    # Channels' AsyncWebsocketConsumer.send has this signature, not AsyncConsumer's (its stubs
    # ignore the same error).
    async def send(  # type: ignore[override]
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if not self.revoked:  # nothing more reaches a socket whose access ended
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def account_revoked(self, event: dict[str, Any]) -> None:
        """The account changed or signed out: close unless it and this session may still chat."""
        if not await database_sync_to_async(socket_may_stay)(
            self.user.pk,
            self.scope["session"].session_key,
            ended_session=event.get("ended_session"),
        ):
            self.revoked = True
            await self.close(code=CLOSE_FORBIDDEN)

    async def chat_frame(self, event: dict[str, Any]) -> None:
        if self.awaiting_sync and event.get("generation"):
            self.held_frames.append(event)
            return
        if (
            self.synced
            and event.get("generation") == self.synced[0]
            and event["seq"] <= self.synced[1]
        ):
            return
        await self.send(text_data=event["html"])

    async def chat_synced(self, event: dict[str, Any]) -> None:
        if not self.awaiting_sync:
            return
        self.synced = (event["generation"], event["seq"])
        await self.send(text_data=event["html"])
        await self._release_held_frames()

    async def _catch_up(self) -> None:
        """Bring a page rendered a moment ago up to date with the latest reply (and the title
        generated after it, which may have been announced before this socket joined)."""
        reply = await _latest_reply(self.user, self.conversation)
        if reply is None:
            return
        if reply.state == Message.State.STREAMING:
            self.awaiting_sync = True
            await self.channel_layer.group_send(
                control_group(self.conversation.id),
                {"type": "chat.sync", "reply_channel": self.channel_name},
            )
            self.sync_fallback = asyncio.create_task(self._sync_from_database(reply.pk))
            return
        html = await frames.message_replaced_off_loop(reply)
        if title := await _current_title(self.user, self.conversation):
            html += frames.title_changed(self.conversation.id, title)
        await self.send(text_data=html)

    async def _sync_from_database(self, reply_id: uuid.UUID) -> None:
        """No snapshot came: the generation ended between our read and the request."""
        await asyncio.sleep(GenerationTiming.sync_timeout)
        if not self.awaiting_sync:
            return
        reply = await Message.objects.for_user(self.user).filter(pk=reply_id).afirst()
        if reply is not None:
            await self.send(text_data=await frames.message_replaced_off_loop(reply))
        await self._release_held_frames()

    async def _release_held_frames(self) -> None:
        self.awaiting_sync = False
        held, self.held_frames = self.held_frames, []
        for event in held:
            await self.chat_frame(event)


def _parse_frame(text_data: str | None) -> dict[str, Any] | None:
    """A frame from htmx's ws-send: a JSON object of form fields, all of them plain values."""
    if not text_data or len(text_data) > settings.CHAT_MAX_MESSAGE_CHARS * 6 + 65_536:
        return None
    try:
        data = json.loads(text_data)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    data.pop("HEADERS", None)
    # Plain values; a list only of texts (several inputs of one name: the attachment ids).
    if not all(_is_plain(value) for value in data.values()):
        return None
    # JSON can escape a lone surrogate ("\ud800"), which is no character and cannot be stored.
    texts = [*data]
    for value in data.values():
        texts.extend(
            value if isinstance(value, list) else [value] if isinstance(value, str) else []
        )
    if not all(_is_unicode(text) for text in texts):
        return None
    return data


def _is_plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, str | int | float | bool)


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def _owned_conversation(user: User, kwargs: dict[str, Any]) -> Conversation | None:
    return await Conversation.objects.for_user(user).filter(pk=kwargs["conversation_id"]).afirst()


async def _current_title(user: User, conversation: Conversation) -> str | None:
    titles = Conversation.objects.for_user(user).filter(pk=conversation.pk)
    return await titles.values_list("title", flat=True).afirst()


async def _latest_reply(user: User, conversation: Conversation) -> Message | None:
    thread = Message.objects.for_user(user).filter(conversation=conversation)
    await database_sync_to_async(thread.reap_expired)()
    return await thread.filter(role=Message.Role.ASSISTANT).order_by("-created_at").afirst()
