"""What a search finds, shared by the query, index and page tests of conversations.search."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chatsite.accounts.models import User
from conversations.search.query import search


@pytest.fixture
def found() -> Callable[[User, str], list[str]]:
    """What a search shows, as the matched message texts (or titles for title hits)."""

    def found(user: User, query: str) -> list[str]:
        return [
            hit.message.content if hit.message else f"title: {hit.conversation.title}"
            for hit in search(user, query).hits
        ]

    return found
