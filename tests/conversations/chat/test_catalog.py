"""The model catalog: every server's models, shared by pages and sends for a few seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from chatsite.library.signals import models_changed
from conversations.chat.catalog import load_catalog, load_catalog_for
from tests.factories import make_user
from tests.ollama_standin import OllamaStandin, running_standin


@pytest.fixture
def old_ollama(settings) -> Iterator[OllamaStandin]:
    """An Ollama that lists no capabilities in /api/tags (before 0.30): /api/show tells them."""
    with running_standin(version="0.20.0") as standin:
        standin.add_model("llama3.2:latest")
        standin.add_model("qwen3:8b", capabilities=("completion", "thinking"))
        standin.add_model("nomic-embed-text:latest", capabilities=("embedding",))
        settings.OLLAMA_HOST = standin.url
        yield standin


async def _until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "the background refresh never ended"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0)  # the refresh task's own end, after its last request


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


async def test_an_older_server_is_asked_for_each_models_capabilities_once(old_ollama):
    catalog = await load_catalog()
    assert len(old_ollama.requests_to("/api/tags")) == 1
    assert len(old_ollama.requests_to("/api/show")) == 3
    assert catalog.find("qwen3:8b").thinking
    assert not catalog.find("nomic-embed-text").can_chat


async def test_a_refresh_with_unchanged_digests_is_one_request_to_api_tags(old_ollama):
    await load_catalog()
    refreshed = await load_catalog(max_age=0)
    assert len(old_ollama.requests_to("/api/tags")) == 2
    assert len(old_ollama.requests_to("/api/show")) == 3  # none for the known digests
    assert refreshed.find("qwen3:8b").thinking


async def test_a_refresh_asks_api_show_only_for_a_model_it_has_not_seen(old_ollama):
    await load_catalog()
    old_ollama.add_model("mistral:7b")
    refreshed = await load_catalog(max_age=0)
    shown = [r.body["model"] for r in old_ollama.requests_to("/api/show")]
    assert shown.count("mistral:7b") == 1 and len(shown) == 4
    assert refreshed.find("mistral:7b").can_chat


async def test_concurrent_refreshes_of_an_older_server_share_one_round_of_requests(old_ollama):
    await asyncio.gather(*(load_catalog(max_age=0) for _ in range(20)))
    assert len(old_ollama.requests_to("/api/tags")) == 1
    assert len(old_ollama.requests_to("/api/show")) == 3


async def test_an_expired_catalog_is_answered_at_once_and_refreshed_in_the_background(
    ollama, settings
):
    settings.OLLAMA_MODELS_CACHE_SECONDS = 0.01
    first = await load_catalog()
    ollama.add_model("qwen3:8b")
    await asyncio.sleep(0.02)  # the catalog's age is what is tested: let it expire

    stale = await load_catalog()

    assert stale is first  # answered without waiting for Ollama
    deadline = asyncio.get_running_loop().time() + 10
    while (await load_catalog()).find("qwen3:8b") is None:
        assert asyncio.get_running_loop().time() < deadline, "never refreshed"
        await asyncio.sleep(0.01)
    await _until(lambda: all(r.ended for r in ollama.requests))


async def test_a_send_naming_a_model_the_expired_catalog_lacks_waits_for_a_refresh(
    ollama, settings
):
    settings.OLLAMA_MODELS_CACHE_SECONDS = 0.01
    await load_catalog()
    ollama.add_model("qwen3:8b")  # pulled a moment ago, perhaps through another process
    await asyncio.sleep(0.02)

    catalog = await load_catalog_for("qwen3:8b")

    assert catalog.find("qwen3:8b") is not None


async def test_a_send_naming_an_unknown_model_does_not_refresh_a_fresh_catalog(ollama):
    await load_catalog()
    catalog = await load_catalog_for("no-such-model")
    assert catalog.find("no-such-model") is None
    assert len(ollama.requests_to("/api/tags")) == 1
