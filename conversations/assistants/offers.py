"""Which assistants a person is offered for a new chat: the shared ones and their own, less those
whose model the site's model access rule keeps from them."""

from __future__ import annotations

from typing import Any

from chatsite.accounts.models import User
from conversations.assistants.models import Assistant
from conversations.chat.model_access import ModelAccess


def offered(user: User, access: ModelAccess) -> list[Assistant]:
    assistants = Assistant.objects.visible_to(user).order_by("owner_id", "name", "id")
    return [a for a in assistants if access.allows(user, a.model)]


def offered_one(user: User, access: ModelAccess, pk: Any) -> Assistant | None:
    """The assistant `pk` if this user is offered it; None for anything else (another user's,
    a hidden model's, a made-up id)."""
    try:
        assistant = Assistant.objects.visible_to(user).get(pk=int(pk))
    except (Assistant.DoesNotExist, TypeError, ValueError):
        return None
    return assistant if access.allows(user, assistant.model) else None
