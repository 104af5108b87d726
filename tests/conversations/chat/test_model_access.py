"""The site's model rule: embedding models never offered for chat, admins hide models from
members, both in the picker and on a (forged) send; the default model for new chats."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from chatsite.accounts.models import SiteSettings
from conversations.chat import actions as chat
from conversations.models import Conversation, Message
from tests.factories import make_user

SEND = {"message": "Hello", "model": "llama3.2"}


def restrict_members_to(*names: str, default_model: str = "") -> None:
    site = SiteSettings.load()
    site.restrict_member_models = True
    site.member_models = list(names)
    site.default_model = default_model
    site.save()


def picker(client) -> str:
    return client.get(reverse("conversations:index")).content.decode()


def test_the_picker_shows_family_and_size_and_hides_embedding_models(alice_client, ollama):
    ollama.add_model("nomic-embed-text:latest", family="nomic-bert", capabilities=("embedding",))
    page = picker(alice_client)
    assert "llama3.2:latest (llama · 3.2B · 1.9\xa0GB)</option>" in page
    assert "nomic-embed-text" not in page


def test_a_hidden_model_is_absent_from_a_members_picker_but_not_an_admins(
    alice_client, admin_client, ollama
):
    ollama.add_model("qwen3:8b")
    restrict_members_to("llama3.2:latest")
    assert 'value="qwen3:8b"' not in picker(alice_client)
    assert 'value="llama3.2:latest"' in picker(alice_client)
    assert 'value="qwen3:8b"' in picker(admin_client)


def test_the_default_model_is_preselected_for_someone_who_has_not_chatted(alice_client, ollama):
    ollama.add_model("qwen3:8b")
    site = SiteSettings.load()
    site.default_model = "qwen3:8b"
    site.save()
    assert 'value="qwen3:8b" data-thinking="0" selected' in picker(alice_client)


@pytest.mark.django_db(transaction=True)
async def test_a_forged_send_naming_a_hidden_model_is_refused_and_nothing_is_stored(ollama):
    ollama.add_model("qwen3:8b")
    alice = await database_sync_to_async(make_user)("alice")
    await database_sync_to_async(restrict_members_to)("llama3.2:latest")

    with pytest.raises(chat.ChatRefused) as refused:
        await chat.send_message(alice, None, {**SEND, "model": "qwen3:8b"})

    assert refused.value.errors == [
        "The model 'qwen3:8b' is not available to you on this site. Pick another model."
    ]
    assert await Conversation.objects.acount() == 0
    assert await Message.objects.acount() == 0
    assert ollama.requests_to("/api/chat") == []


@pytest.mark.django_db(transaction=True)
async def test_an_embedding_model_is_refused_for_chat_before_anything_is_stored(ollama):
    ollama.add_model("nomic-embed-text:latest", capabilities=("embedding",))
    alice = await database_sync_to_async(make_user)("alice")

    with pytest.raises(chat.ChatRefused) as refused:
        await chat.send_message(alice, None, {**SEND, "model": "nomic-embed-text"})

    assert refused.value.errors == [
        "'nomic-embed-text:latest' is an embedding model and cannot chat. Pick another model."
    ]
    assert await Conversation.objects.acount() == 0
