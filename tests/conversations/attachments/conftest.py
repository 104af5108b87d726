"""Sends here start real replies: they end with the test, as in the chat tests."""

from __future__ import annotations

from tests.conversations.chat.conftest import generations_end_with_the_test

__all__ = ["generations_end_with_the_test"]
