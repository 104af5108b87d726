"""The model catalog: every server's models, shared by pages and sends for a few seconds."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from chatsite.library.signals import models_changed
from conversations.chat.catalog import load_catalog
from tests.factories import make_user


async def test_concurrent_loads_share_one_request_per_server(ollama):
    catalogs = await asyncio.gather(*(load_catalog() for _ in range(20)))
    assert len(ollama.requests_to("/api/tags")) == 1
    assert {c.models for c in catalogs} == {catalogs[0].models}
    assert catalogs[0].find("llama3.2") is not None


async def test_a_catalog_is_reused_until_it_is_older_than_max_age(ollama):
    await load_catalog()
    await load_catalog()
    assert len(ollama.requests_to("/api/tags")) == 1
    await load_catalog(max_age=0)
    assert len(ollama.requests_to("/api/tags")) == 2


async def test_a_deleted_or_pulled_model_drops_the_remembered_catalog(ollama):
    first = await load_catalog()
    ollama.add_model("qwen3:8b")
    await models_changed.asend(sender=None, host=ollama.url)
    second = await load_catalog()
    assert first.find("qwen3:8b") is None
    assert second.find("qwen3:8b") is not None


async def test_a_cancelled_caller_does_not_cancel_the_shared_load(ollama):
    first = asyncio.create_task(load_catalog())
    second = asyncio.create_task(load_catalog())
    await asyncio.sleep(0)
    first.cancel()
    catalog = await second
    assert catalog.reachable
    with pytest.raises(asyncio.CancelledError):
        await first


@pytest.mark.django_db(transaction=True)
async def test_ten_chat_page_loads_ask_ollama_for_its_models_once(ollama):
    ollama.add_model("qwen3:8b")  # no capabilities in /api/tags: thinking needs /api/show
    alice = await database_sync_to_async(make_user)("alice")
    client = AsyncClient()
    await database_sync_to_async(client.force_login)(alice)

    pages = await asyncio.gather(*(client.get(reverse("conversations:index")) for _ in range(10)))

    assert all(page.status_code == 200 for page in pages)
    assert all('value="qwen3:8b"' in page.content.decode() for page in pages)
    assert len(ollama.requests_to("/api/tags")) == 1
    assert len(ollama.requests_to("/api/show")) <= 2
