"""The models page socket, kept thin: admins only, join the page's group, forward its frames."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from chatsite.accounts.access import is_site_admin, socket_may_stay
from chatsite.accounts.live import user_group
from chatsite.library import frames
from chatsite.library.pulls import reap_interrupted

CLOSE_FORBIDDEN = 4403


class ModelsConsumer(AsyncWebsocketConsumer):
    joined = False

    async def connect(self) -> None:
        user = self.scope["user"]
        if not await database_sync_to_async(is_site_admin)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        assert user is not None  # is_site_admin refuses None
        self.user_id = user.pk
        await self.channel_layer.group_add(frames.MODELS_GROUP, self.channel_name)
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        self.joined = True
        await self.accept()
        # The page may have been rendered just before a pull started or ended: catch up.
        await reap_interrupted()
        await self.send(text_data=await frames.pull_list())

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(frames.MODELS_GROUP, self.channel_name)
            await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Actions are POSTs (CSRF-checked, working without a socket); the socket only listens."""

    async def account_revoked(self, event: dict[str, Any]) -> None:
        """The account changed or signed out: close unless this session still runs the site."""
        if not await database_sync_to_async(socket_may_stay)(
            self.user_id,
            self.scope["session"].session_key,
            admin=True,
            ended_session=event.get("ended_session"),
        ):
            await self.close(code=CLOSE_FORBIDDEN)

    async def library_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])

    async def chat_frame(self, event: dict[str, Any]) -> None:
        """The user's group also carries chat frames (a new conversation title): not for this
        page, and a message type without a handler would close the socket."""
