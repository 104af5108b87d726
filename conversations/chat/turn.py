"""A turn as it is started: the stored user side, the reply placeholder, and the settings it runs
with. Its own module so the frames that show a turn and the actions that start one both use it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from conversations.models import Conversation, Message


@dataclass(frozen=True)
class StartedTurn:
    conversation: Conversation
    user_message: Message | None
    reply: Message
    user_message_is_new: bool = True
    removed_ids: tuple[uuid.UUID, ...] = ()
    earlier: tuple[Message, ...] = ()


@dataclass(frozen=True)
class TurnSettings:
    model: str
    system_prompt: str
    options: dict[str, Any]
    think: bool
    model_thinks: bool
    host: str
