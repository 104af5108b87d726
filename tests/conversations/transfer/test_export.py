"""Exporting conversations (export.py): the Markdown attachment, the export of everything streamed
with the user's own conversations only, file names, and records the importer reads back whole."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient
from django.urls import reverse

from conversations.models import Message
from conversations.transfer.export import (
    CONVERSATION_FIELDS,
    MESSAGE_FIELDS,
    conversation_record,
    document_head,
    export_filename,
)
from conversations.transfer.importers import parse_document
from tests.factories import make_conversation, make_message, make_user


def test_markdown_export_is_a_readable_attachment(alice, alice_client, alices_history):
    response = alice_client.get(
        reverse("conversations:export_markdown", args=[alices_history[0].id])
    )

    text = response.content.decode()
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="rome-itinerary-{alices_history[0].id.hex[:8]}.md"'
    )
    assert text.startswith("# Rome itinerary\n")
    assert "## You · 2025-03-01 09:30\n\nThree days in Rome?" in text
    assert "> They want a short plan." in text
    assert "Day 1: **Colosseum**." in text
    assert "&lt;" not in text


@pytest.mark.django_db(transaction=True)
async def test_export_of_everything_streams_only_the_users_own_conversations():
    alice, bob = await make_user_async("alice"), await make_user_async("bob")
    await make_chat_async(alice, "Alice's chat")
    await make_chat_async(bob, "Bob's chat")
    client = AsyncClient()
    await client.aforce_login(alice)

    response = await client.get(reverse("conversations:export_all"))
    body = b"".join([chunk async for chunk in response.streaming_content])
    await sync_to_async(connections.close_all)()  # the executor thread's, so teardown can drop

    document = json.loads(body)
    assert response["Content-Disposition"].startswith('attachment; filename="chatsite-')
    assert [c["title"] for c in document["conversations"]] == ["Alice's chat"]
    assert document["conversations"][0]["messages"][0]["content"] == "Hello"


async def make_user_async(name):
    return await sync_to_async(make_user)(name)


async def make_chat_async(owner, title):
    def make():
        make_message(make_conversation(owner, title=title))

    await sync_to_async(make)()


def test_every_field_of_an_exported_conversation_reads_back_through_the_importer(alices_history):
    chat = alices_history[0]
    chat.refresh_from_db()
    messages = list(Message.objects.filter(conversation=chat).order_by("created_at"))
    document = {**document_head(), "conversations": [conversation_record(chat, messages)]}

    parsed = parse_document(json.loads(json.dumps(document)), max_message_chars=100_000)

    imported = parsed.conversations[0]
    assert {n: getattr(imported, n) for n in CONVERSATION_FIELDS} == {
        n: getattr(chat, n) for n in CONVERSATION_FIELDS
    }
    assert [{n: getattr(m, n) for n in MESSAGE_FIELDS} for m in imported.messages] == [
        {n: getattr(m, n) for n in MESSAGE_FIELDS} for m in messages
    ]


@pytest.mark.parametrize(
    ("title", "start"),
    [("Rome: 3 days!", "rome-3-days-"), ("???", "conversation-"), ("x" * 80, "x" * 60 + "-")],
    ids=["slug", "no-letters", "long"],
)
def test_an_export_file_is_named_after_the_title_and_the_start_of_the_id(alice, title, start):
    chat = make_conversation(alice, title=title)

    assert export_filename(chat, "md") == f"{start}{chat.pk.hex[:8]}.md"
