"""The transfer tests' shared fixture: alice's history, using every field the export carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conversations.models import Conversation, Message
from tests.factories import make_conversation, make_message

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def alices_history(alice):
    """Two conversations using every field the export carries."""
    first = make_conversation(
        alice,
        title="Rome itinerary",
        system_prompt="Be brief.",
        options={"temperature": 0.4, "num_ctx": 8192},
        think=False,
        pinned=True,
        title_settled=True,  # an import keeps the title it comes with
    )
    make_message(first, content="Three days in Rome?")
    make_message(
        first,
        role=Message.Role.ASSISTANT,
        content="Day 1: **Colosseum**.",
        thinking="They want a short plan.",
        model="llama3.2:latest",
        options={"temperature": 0.4},
        prompt_eval_count=12,
        eval_count=40,
        eval_duration_ns=800_000_000,
        total_duration_ns=1_000_000_000,
        finished_at=T0,
    )
    second = make_conversation(alice, title="Broken reply", archived=True, title_settled=True)
    make_message(second, content="Hello?")
    make_message(
        second,
        role=Message.Role.ASSISTANT,
        content="Partial",
        state=Message.State.INTERRUPTED,
        error="Ollama went away",
    )
    # Times as they are after a while, not all "now" (created_at ignores values given on save).
    Conversation.objects.filter(pk=first.pk).update(created_at=T0, updated_at=T0)
    for minutes, message in enumerate(Message.objects.filter(conversation=first)):
        Message.objects.filter(pk=message.pk).update(created_at=T0 + timedelta(minutes=minutes))
    return [first, second]
