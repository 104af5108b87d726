"""Starting chats from assistants: what the new-chat screen offers, what the request to Ollama
carries, what the conversation keeps, and the model access rule over all of it."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient
from django.urls import reverse

from chatsite.accounts.models import SiteSettings
from conversations.assistants.models import Assistant
from conversations.models import Attachment, Conversation, Message
from conversations.transfer.export import single_export
from conversations.transfer.importers.chatsite import read_chatsite
from tests.conversations.assistants.conftest import make_assistant
from tests.factories import make_conversation, make_user


def hide_from_members(*allowed: str) -> None:
    site = SiteSettings.load()
    site.restrict_member_models, site.member_models = True, list(allowed)
    site.save()


def test_the_new_chat_screen_offers_shared_and_own_assistants_only(
    alice, bob, alice_client, ollama
):
    make_assistant(None, name="Shared one")
    make_assistant(alice, name="Alices own")
    make_assistant(bob, name="Bobs own")
    page = alice_client.get(reverse("conversations:index")).content.decode()
    assert "Shared one" in page and "Alices own" in page
    assert "Bobs own" not in page


def test_an_assistant_on_a_hidden_model_is_not_offered_and_cannot_be_opened(alice_client, ollama):
    ollama.add_model("qwen3:8b")
    hidden = make_assistant(None, name="Hidden one", model="qwen3:8b")
    hide_from_members("llama3.2:latest")
    assert "Hidden one" not in alice_client.get(reverse("conversations:index")).content.decode()
    url = reverse("conversations:index") + f"?assistant={hidden.pk}"
    assert alice_client.get(url).status_code == 404


def test_an_assistant_chat_shows_its_starters(alice_client, ollama):
    assistant = make_assistant(None)
    url = reverse("conversations:index") + f"?assistant={assistant.pk}"
    page = alice_client.get(url).content.decode()
    assert "New chat with SQL helper" in page
    assert 'name="message" value="Explain this query"' in page
    assert f'name="assistant" value="{assistant.pk}"' in page


@pytest.mark.django_db(transaction=True)
async def test_a_starter_prompt_starts_a_chat_carrying_the_assistants_settings(ollama):
    alice = await database_sync_to_async(make_user)("alice")
    assistant = await database_sync_to_async(make_assistant)(None)
    client = AsyncClient()
    await client.aforce_login(alice)

    # Whatever else the form says, the assistant's settings are the ones used.
    response = await client.post(
        reverse("conversations:create"),
        {"assistant": assistant.pk, "message": "Explain this query", "system_prompt": "Nope"},
    )
    assert response.status_code == 302
    await ollama.await_for(lambda s: s.requests_to("/api/chat"))
    [sent] = [r.body for r in ollama.requests_to("/api/chat") if r.body.get("messages")][:1]
    assert sent["model"] == "llama3.2:latest"
    assert sent["messages"][0] == {"role": "system", "content": "You write PostgreSQL."}
    assert sent["messages"][1] == {"role": "user", "content": "Explain this query"}
    assert sent["options"] == {"temperature": 0.1, "num_ctx": 8192}
    assert "think" not in sent  # llama3.2 cannot think: never sent

    conversation = await Conversation.objects.aget()
    assert conversation.assistant_id == assistant.pk
    assert conversation.assistant_name == "SQL helper"
    assert conversation.assistant_settings["system_prompt"] == "You write PostgreSQL."
    assert conversation.system_prompt == "You write PostgreSQL."

    # Editing the assistant later rewrites nothing in the conversation.
    await Assistant.objects.filter(pk=assistant.pk).aupdate(name="Renamed", system_prompt="X")
    conversation = await Conversation.objects.aget()
    assert (conversation.assistant_name, conversation.system_prompt) == (
        "SQL helper",
        "You write PostgreSQL.",
    )
    page = (await client.get(conversation.get_absolute_url())).content.decode()
    assert "assistant-badge" in page and "SQL helper" in page


@pytest.mark.django_db(transaction=True)
async def test_a_forged_start_from_another_users_assistant_is_refused(ollama):
    alice = await database_sync_to_async(make_user)("alice")
    bob = await database_sync_to_async(make_user)("bob")
    bobs = await database_sync_to_async(make_assistant)(bob)
    client = AsyncClient()
    await client.aforce_login(alice)
    response = await client.post(
        reverse("conversations:create"), {"assistant": bobs.pk, "message": "hi"}
    )
    assert response.status_code == 404
    assert not await Conversation.objects.aexists()
    assert not ollama.requests_to("/api/chat")


def test_the_assistant_travels_with_the_conversation_through_export_and_import(alice, ollama):
    assistant = make_assistant(alice)
    conversation = make_conversation(
        alice,
        assistant=assistant,
        assistant_name=assistant.name,
        assistant_settings=assistant.snapshot(),
    )
    document = json.loads(async_to_sync(single_export)(conversation))
    record = document["conversations"][0]
    assert record["assistant_name"] == "SQL helper"
    assert record["assistant_settings"]["system_prompt"] == "You write PostgreSQL."
    [imported] = read_chatsite(document)
    assert imported.assistant_name == "SQL helper"
    assert imported.assistant_settings == {
        "model": "llama3.2:latest",
        "system_prompt": "You write PostgreSQL.",
        "options": {"temperature": 0.1, "num_ctx": 8192},
        "think": False,
    }


@pytest.mark.django_db(transaction=True)
async def test_a_chat_started_from_an_assistant_keeps_the_files_attached_to_its_first_message(
    ollama,
):
    alice = await database_sync_to_async(make_user)("alice")
    assistant = await database_sync_to_async(make_assistant)(None)
    client = AsyncClient()
    await client.aforce_login(alice)
    document = SimpleUploadedFile("query.sql", b"SELECT 1;", "text/plain")
    await client.post(reverse("conversations:attachment_upload"), {"file": document})
    attachment = await Attachment.objects.aget()

    response = await client.post(
        reverse("conversations:create"),
        {"assistant": assistant.pk, "message": "Explain this", "attachment": str(attachment.pk)},
    )

    assert response.status_code == 302
    await ollama.await_for(lambda s: s.requests_to("/api/chat"))
    [sent] = [r.body for r in ollama.requests_to("/api/chat") if r.body.get("messages")][:1]
    assert sent["messages"][0] == {"role": "system", "content": "You write PostgreSQL."}
    assert sent["messages"][1]["content"].startswith("Explain this")
    assert "----- Attached file: query.sql -----\nSELECT 1;" in sent["messages"][1]["content"]
    first = await Message.objects.filter(role=Message.Role.USER).aget()
    assert [a.pk async for a in first.attachments.all()] == [attachment.pk]
