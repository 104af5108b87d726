"""Saving imported conversations (store.py): whole conversations in short batches, a long one in
parts, earlier batches kept whole when a later one fails, other users' writes served meanwhile."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.transfer import store
from conversations.transfer.importers.records import ImportedConversation, ImportedMessage
from tests.conversations.transfer.files import upload
from tests.factories import make_conversation, make_user


def long_chatsite_file(*lengths: int, boom_in: int | None = None) -> bytes:
    """Conversations with the given numbers of messages; "boom" is one message's text in
    conversation number `boom_in` (counted from 1)."""
    conversations = []
    for number, length in enumerate(lengths, start=1):
        texts = [f"Message {k} of {number}" for k in range(length)]
        if number == boom_in:
            texts[-1] = "boom"
        messages = [
            {"role": ["user", "assistant"][k % 2], "content": text} for k, text in enumerate(texts)
        ]
        conversations.append({"title": f"Conversation {number}", "messages": messages})
    return json.dumps({"format": "chatsite", "version": 1, "conversations": conversations}).encode()


def test_a_conversation_longer_than_a_batch_is_imported_in_whole_parts(
    alice, alice_client, settings
):
    settings.CHAT_IMPORT_BATCH_MESSAGES = 3

    response = upload(alice_client, long_chatsite_file(2, 7))

    page = alice_client.get(response["Location"]).content.decode()
    assert "Imported 4 conversations with 9 messages from a chatsite export." in page
    assert "1 very long conversation was imported in parts" in page
    parts = Conversation.objects.for_user(alice).exclude(title="Conversation 1")
    assert sorted((c.title, c.messages.count()) for c in parts) == [
        ("Conversation 2 (part 1 of 3)", 3),
        ("Conversation 2 (part 2 of 3)", 3),
        ("Conversation 2 (part 3 of 3)", 1),
    ]
    texts = Message.objects.filter(conversation__in=parts).order_by("created_at")
    assert [m.content for m in texts] == [f"Message {k} of 2" for k in range(7)]


# Refuse every message whose text is "boom", as a database constraint would.
REFUSE_BOOM = {
    "sqlite": [
        "CREATE TRIGGER test_refuse_boom BEFORE INSERT ON conversations_message "
        "WHEN NEW.content = 'boom' BEGIN SELECT RAISE(ABORT, 'the test refuses this row'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION test_refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.content = 'boom' THEN RAISE EXCEPTION 'the test refuses this row'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER test_refuse_boom BEFORE INSERT ON conversations_message "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_boom()",
    ],
}


def test_when_a_later_batch_fails_the_earlier_conversations_stay_whole_and_are_counted(
    alice, alice_client, settings
):
    # The test's own transaction rolls the trigger back afterwards.
    with connection.cursor() as cursor:
        for statement in REFUSE_BOOM[connection.vendor]:
            cursor.execute(statement)
    settings.CHAT_IMPORT_BATCH_MESSAGES = 4

    response = upload(alice_client, long_chatsite_file(2, 2, 3, 2, boom_in=3))

    page = response.content.decode()
    assert response.status_code == 400
    assert "Imported 2 conversations whole, with 4 messages; then the database refused" in page
    assert "the test refuses this row" in page
    assert "so the other 2 conversations of the file were not imported." in page
    stored = Conversation.objects.for_user(alice).order_by("title")
    assert [(c.title, c.messages.count()) for c in stored] == [
        ("Conversation 1", 2),
        ("Conversation 2", 2),
    ]


@pytest.mark.django_db(transaction=True)
def test_another_users_write_is_answered_while_a_large_import_is_still_running(settings):
    """An import used to hold SQLite's write lock for all of its 66 s: another user's pin
    failed with "database is locked". Now the lock is free after each batch."""
    settings.CHAT_IMPORT_BATCH_MESSAGES = 50
    alice, bob = make_user("alice"), make_user("bob")
    bobs_chat = make_conversation(bob, title="Bob's")
    bob_client = Client()
    bob_client.force_login(bob)
    imported = [
        ImportedConversation(
            title=f"Imported {n}",
            messages=[ImportedMessage(role="user", content=f"Text {k}") for k in range(50)],
        )
        for n in range(4)
    ]
    first_batch_stored, bob_was_answered = threading.Event(), threading.Event()
    outcome = {}

    def progress(saved: store.ImportSummary) -> None:
        first_batch_stored.set()
        bob_was_answered.wait(timeout=30)  # the import holds here until Bob has his answer

    def run_import() -> None:
        try:
            outcome["summary"] = store.save_imported(alice, imported, progress=progress)
        finally:
            connections.close_all()

    importer = threading.Thread(target=run_import)
    importer.start()
    try:
        assert first_batch_stored.wait(timeout=30)
        response = bob_client.post(reverse("conversations:pin", args=[bobs_chat.id]))
        import_was_running = importer.is_alive() and "summary" not in outcome
    finally:
        bob_was_answered.set()
        importer.join(timeout=50)

    assert response.status_code == 302
    assert import_was_running
    assert Conversation.objects.get(pk=bobs_chat.pk).pinned
    assert outcome["summary"] == store.ImportSummary(conversations=4, messages=200)
    assert Message.objects.filter(conversation__owner=alice).count() == 200


def imported_chat(title: str, *texts: str) -> ImportedConversation:
    return ImportedConversation(
        title=title, messages=[ImportedMessage(role="user", content=t) for t in texts]
    )


def test_batches_hold_whole_conversations_within_the_message_and_character_budgets():
    chats = [
        imported_chat("a", "1", "2"),
        imported_chat("empty"),
        imported_chat("b", "3"),
        imported_chat("c", "x" * 50),
        imported_chat("d", "4"),
    ]

    grouped = store.batches(chats, max_messages=4, max_chars=40)

    assert [[c.title for c in batch] for batch in grouped] == [["a", "empty", "b"], ["c"], ["d"]]


def test_a_conversation_with_more_text_than_a_batch_holds_is_split_between_messages():
    chat = imported_chat("Essays", "x" * 30, "y" * 30, "z" * 30)

    parts = store.in_parts(chat, max_messages=100, max_chars=60, now=timezone.now())

    assert [(p.title, [m.content[0] for m in p.messages]) for p in parts] == [
        ("Essays (part 1 of 2)", ["x", "y"]),
        ("Essays (part 2 of 2)", ["z"]),
    ]
    times = [m.created_at for p in parts for m in p.messages]
    assert times == sorted(times) and len(set(times)) == 3


def test_one_message_longer_than_a_batch_is_not_split():
    chat = imported_chat("One", "x" * 100)

    assert store.in_parts(chat, max_messages=10, max_chars=60, now=timezone.now()) == [chat]


def test_an_imported_title_is_kept_and_an_untitled_import_gets_one_after_its_next_reply(alice):
    store.save_imported(alice, [imported_chat("Rome", "Three days?"), imported_chat("", "Hi")])

    settled = dict(Conversation.objects.for_user(alice).values_list("title", "title_settled"))
    assert settled == {"Rome": True, "": False}
