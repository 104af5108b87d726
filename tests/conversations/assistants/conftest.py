"""Fixtures for the assistant tests: the chat tests' rule that generations end with the test,
and a plain factory for assistants."""

from __future__ import annotations

from typing import Any

from chatsite.accounts.models import User
from conversations.assistants.models import Assistant
from tests.conversations.chat.conftest import generations_end_with_the_test

__all__ = ["generations_end_with_the_test", "make_assistant"]


def make_assistant(owner: User | None = None, **fields: Any) -> Assistant:
    values: dict[str, Any] = {
        "name": "SQL helper",
        "description": "Writes and explains SQL.",
        "model": "llama3.2:latest",
        "system_prompt": "You write PostgreSQL.",
        "options": {"temperature": 0.1, "num_ctx": 8192},
        "think": False,
        "starters": ["Explain this query", "Write a migration"],
    }
    return Assistant.objects.create(owner=owner, **{**values, **fields})
