"""What Open WebUI and ChatGPT exports share, read leniently: the branch that was shown, titles
and times filled in, and a count or time of the wrong type or out of range ignored."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils.text import Truncator

from conversations.models import Message
from conversations.transfer.importers.records import (
    MODEL_LENGTH,
    TITLE_LENGTH,
    ImportedConversation,
    ImportRejected,
    shown,
)


def shown_branch(
    nodes: dict[str, Any], current: Any, parent_key: str, where: str, current_key: str
) -> list[dict[str, Any]]:
    """The messages from the root to `current`, following parent links: the branch shown."""
    if not isinstance(current, str) or current not in nodes:
        raise ImportRejected(
            f'{where}: "{current_key}" must name one of its messages, not {shown(current)}.'
        )
    branch: list[dict[str, Any]] = []
    seen: set[str] = set()
    node_id: Any = current
    while node_id is not None:
        if node_id in seen:
            raise ImportRejected(
                f'{where}: the "{parent_key}" links of {shown(node_id)} form a loop.'
            )
        seen.add(node_id)
        node = nodes.get(node_id)
        if not isinstance(node, dict):
            raise ImportRejected(
                f'{where}: "{parent_key}" names {shown(node_id)}, which is not one of its messages.'
            )
        branch.append({"id": node_id, **node})
        node_id = node.get(parent_key)
        if node_id is not None and not isinstance(node_id, str):
            raise ImportRejected(
                f'{where}: message {shown(branch[-1]["id"])} has a bad "{parent_key}".'
            )
    return branch[::-1]


def finished(conversation: ImportedConversation) -> ImportedConversation:
    """Fill what foreign formats leave out and make message times strictly increasing, since
    chatsite shows a conversation's messages in time order."""
    if not conversation.title:
        first = next((m.content for m in conversation.messages if m.role == "user"), "")
        conversation.title = Truncator(" ".join(first[:500].split())).chars(60)
    previous = None
    for message in conversation.messages:
        moment = message.created_at
        if previous is not None and (moment is None or moment <= previous):
            moment = previous + timedelta(milliseconds=1)
        message.created_at = moment or conversation.created_at
        previous = message.created_at
    if conversation.created_at is None and conversation.messages:
        conversation.created_at = conversation.messages[0].created_at
    if conversation.updated_at is None or (
        previous is not None and conversation.updated_at < previous
    ):
        conversation.updated_at = previous or conversation.created_at
    return conversation


def failed_state(content: str) -> str:
    return Message.State.INTERRUPTED if content else Message.State.FAILED


def title_text(value: Any) -> str:
    return Truncator(value[:1000].strip()).chars(TITLE_LENGTH) if isinstance(value, str) else ""


def model_text(value: Any) -> str:
    return value[:MODEL_LENGTH] if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def first_count(values: dict[str, Any], keys: tuple[str, ...], maximum: int) -> int | None:
    """The first of `keys` holding a count the database can store; anything else is ignored."""
    for key in keys:
        value = values.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value) and 0 <= value <= maximum:
            return int(value)
    return None


# Times later than this are no time a chat happened: ignored, like a missing time.
_FUTURE_ALLOWANCE = 24 * 3600


def epoch_time(value: Any) -> datetime | None:
    """Seconds since 1970 (Open WebUI, ChatGPT); milliseconds, microseconds or nanoseconds when
    that large. Anything else (text, NaN, infinities, the far future) is no time: None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    seconds = next((value / scale for scale in (1, 1e3, 1e6, 1e9) if value / scale < 1e11), None)
    if seconds is None or seconds <= 0 or seconds > time.time() + _FUTURE_ALLOWANCE:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
