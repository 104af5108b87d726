"""Fixtures for chat tests."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    # The in-memory layer's queues belong to one event loop; each test runs on its own.
    channel_layers.backends.clear()
