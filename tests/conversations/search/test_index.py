"""conversations.search.index: the database's own full-text index (FTS5 or tsvector) kept in
step with every way text is written, and repaired when a table rebuild dropped its triggers.

Run on PostgreSQL too: DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatsite pytest ...
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connection, connections

from conversations.models import Message
from conversations.search import index as search_index
from conversations.search.query import search
from tests.factories import make_conversation, make_message, make_user
from tests.live import open_socket, receive_until


def test_an_edited_message_is_found_by_its_new_words_only(alice, found):
    message = make_message(make_conversation(alice), content="original wording")
    message.content = "replacement phrasing"
    message.save(update_fields=["content"])

    assert found(alice, "original") == []
    assert found(alice, "replacement") == ["replacement phrasing"]


def test_text_written_with_a_queryset_update_is_found(alice, found):
    """The streaming flush writes with .update(), which sends no signals."""
    message = make_message(make_conversation(alice), role=Message.Role.ASSISTANT, content="")
    Message.objects.filter(pk=message.pk).update(content="partial streamed answer")

    assert found(alice, "streamed") == ["partial streamed answer"]


def test_deleted_messages_and_conversations_leave_the_index(alice, found):
    chat = make_conversation(alice, title="Doomed chat")
    make_message(chat, content="ephemeral words")
    kept = make_message(make_conversation(alice), content="ephemeral but kept")
    chat.messages.first().delete()

    assert found(alice, "ephemeral") == ["ephemeral but kept"]
    chat.delete()
    kept.conversation.delete()
    assert found(alice, "ephemeral") == [] and found(alice, "doomed") == []


def test_a_renamed_conversation_is_found_by_its_new_title(alice, found):
    chat = make_conversation(alice, title="Draft name")
    chat.title = "Final zebra name"
    chat.save()

    assert found(alice, "zebra") == ["title: Final zebra name"]
    assert found(alice, "draft") == []


def test_a_lease_renewal_does_not_disturb_the_index(alice, found):
    message = make_message(make_conversation(alice), content="lease words")
    Message.objects.filter(pk=message.pk).update(lease_owner="someone")

    assert found(alice, "lease") == ["lease words"]


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite triggers only")
def test_the_index_is_repaired_when_a_table_rebuild_dropped_its_triggers(alice, found):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER conversations_message_fts_insert")
    make_message(make_conversation(alice), content="written while unindexed")
    assert found(alice, "unindexed") == []

    assert search_index.repair(connection) is True

    assert found(alice, "unindexed") == ["written while unindexed"]
    assert search_index.repair(connection) is False


@database_sync_to_async
def alice_and_chat():
    alice = make_user("alice")
    return alice, make_conversation(alice, title="Streaming")


@pytest.mark.django_db(transaction=True)
async def test_a_reply_finished_by_streaming_is_found(ollama):
    ollama.script_chat(["The ", "aurora ", "borealis ", "glows ", "green."])
    alice, chat = await alice_and_chat()
    socket = await open_socket(alice, f"/ws/chat/{chat.id}/")
    assert (await socket.connect())[0]
    await socket.send_to(
        text_data=json.dumps(
            {"action": "send", "message": "Tell me about the sky", "model": "llama3.2:latest"}
        )
    )
    await receive_until(socket, "tokens/s")
    await socket.disconnect()

    hits = (await sync_to_async(search)(alice, "borealis")).hits
    await sync_to_async(connections.close_all)()  # the executor thread's, so teardown can drop

    assert [h.message.content for h in hits] == ["The aurora borealis glows green."]
    assert hits[0].message.state == Message.State.COMPLETE
    assert "borealis" in [text for text, marked in hits[0].snippet if marked]
