"""Plain factory functions for tests: sensible defaults, keyword overrides."""

from __future__ import annotations

from typing import Any

from chatsite.accounts.models import User
from conversations.models import Conversation, Message

PASSWORD = "correct-horse-battery-staple"


def make_user(
    username: str = "alice",
    *,
    password: str = PASSWORD,
    approved: bool = True,
    admin: bool = False,
    **fields: Any,
) -> User:
    """An existing member by default: approved, active, not an admin."""
    fields.setdefault("is_staff", admin)
    fields.setdefault("is_superuser", admin)
    return User.objects.create_user(
        username=username, password=password, is_approved=approved, **fields
    )


def make_conversation(owner: User, **fields: Any) -> Conversation:
    fields.setdefault("title", "A conversation")
    fields.setdefault("model", "llama3.2:latest")
    return Conversation.objects.create(owner=owner, **fields)


def make_message(conversation: Conversation, **fields: Any) -> Message:
    fields.setdefault("role", Message.Role.USER)
    fields.setdefault("content", "Hello")
    return Message.objects.create(conversation=conversation, **fields)
