"""Export (Markdown, JSON, everything) and import (chatsite, Open WebUI, ChatGPT): round trips,
the branch that was shown, and bad files refused with nothing changed."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import AsyncClient
from django.urls import reverse

from conversations.models import Conversation, Message
from conversations.search import search
from tests.factories import make_conversation, make_message, make_user

FIXTURES = Path(__file__).parent / "fixtures"
IMPORT = reverse("conversations:import")
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def streamed(response) -> bytes:
    """The body of a streamed (async) response, read from a sync test."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)()


def export_everything(client) -> bytes:
    return streamed(client.get(reverse("conversations:export_all")))


def upload(client, content: bytes, name: str = "export.json"):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})


def stored(user) -> list[dict]:
    """A user's conversations and messages as plain values, without ids, in a stable order."""
    result = []
    for c in Conversation.objects.for_user(user).order_by("created_at", "title"):
        values = Conversation.objects.filter(pk=c.pk).values().get()
        for key in ("id", "owner_id"):
            values.pop(key)
        values["messages"] = [
            {k: v for k, v in m.items() if k not in ("id", "conversation_id")}
            for m in Message.objects.filter(conversation=c).order_by("created_at", "-role").values()
        ]
        result.append(values)
    return result


def everything() -> list:
    return [list(Conversation.objects.values()), list(Message.objects.values())]


@pytest.fixture
def alices_history(alice):
    """Two conversations using every field the export carries."""
    first = make_conversation(
        alice,
        title="Rome itinerary",
        system_prompt="Be brief.",
        options={"temperature": 0.4, "num_ctx": 8192},
        think=False,
        pinned=True,
    )
    make_message(first, content="Three days in Rome?")
    make_message(
        first,
        role=Message.Role.ASSISTANT,
        content="Day 1: **Colosseum**.",
        thinking="They want a short plan.",
        model="llama3.2:latest",
        options={"temperature": 0.4},
        prompt_eval_count=12,
        eval_count=40,
        eval_duration_ns=800_000_000,
        total_duration_ns=1_000_000_000,
        finished_at=T0,
    )
    second = make_conversation(alice, title="Broken reply", archived=True)
    make_message(second, content="Hello?")
    make_message(
        second,
        role=Message.Role.ASSISTANT,
        content="Partial",
        state=Message.State.INTERRUPTED,
        error="Ollama went away",
    )
    # Times as they are after a while, not all "now" (created_at ignores values given on save).
    Conversation.objects.filter(pk=first.pk).update(created_at=T0, updated_at=T0)
    for minutes, message in enumerate(Message.objects.filter(conversation=first)):
        Message.objects.filter(pk=message.pk).update(created_at=T0 + timedelta(minutes=minutes))
    return [first, second]


def test_exporting_everything_then_importing_gives_the_same_conversations(
    alice, alice_client, alices_history
):
    before = stored(alice)
    exported = export_everything(alice_client)
    Conversation.objects.for_user(alice).delete()

    response = upload(alice_client, exported)

    assert response.status_code == 302
    assert stored(alice) == before


def test_one_conversation_exported_as_json_imports_back_the_same(
    alice, alice_client, alices_history
):
    chat = alices_history[0]
    response = alice_client.get(reverse("conversations:export_json", args=[chat.id]))
    before = stored(alice)[0]
    chat.delete()

    upload(alice_client, response.content)

    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert json.loads(response.content)["format"] == "chatsite"
    assert [c for c in stored(alice) if c["title"] == "Rome itinerary"] == [before]


def test_the_import_reports_what_it_imported(alice, alice_client, alices_history):
    exported = export_everything(alice_client)

    page = alice_client.get(upload(alice_client, exported)["Location"]).content.decode()

    assert "Imported 2 conversations with 4 messages from a chatsite export." in page


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


def test_bobs_import_of_alices_export_makes_new_conversations_for_bob_only(
    alice, bob, alice_client, bob_client, alices_history
):
    exported = export_everything(alice_client)
    alices_before = stored(alice)

    upload(bob_client, exported)

    assert stored(alice) == alices_before
    assert stored(bob) == alices_before
    alice_ids = set(Conversation.objects.for_user(alice).values_list("pk", flat=True))
    assert alice_ids.isdisjoint(Conversation.objects.for_user(bob).values_list("pk", flat=True))


# Open WebUI and ChatGPT ---------------------------------------------------------------------


def test_open_webui_export_imports_the_branch_that_was_shown(alice, alice_client):
    response = upload(alice_client, (FIXTURES / "open_webui_export.json").read_bytes())

    assert response.status_code == 302
    sourdough, haiku = Conversation.objects.for_user(alice).order_by("created_at")
    thread = list(sourdough.messages.order_by("created_at"))
    assert [m.content for m in thread] == [
        "My starter smells like acetone. Is it dead?",
        "Not dead, just hungry: feed it twice a day.",
        "Which flour works best for a rye starter?",
        "Whole rye flour: it ferments vigorously.",
    ]
    assert thread[1].thinking == (
        "The acetone smell means the yeast is hungry.\nSuggest feeding more often."
    )
    assert (thread[1].eval_count, thread[1].eval_duration_ns) == (42, 1_400_000_000)
    assert thread[3].model == "qwen3:8b"
    assert sourdough.title == "Sourdough starter troubles"
    assert sourdough.system_prompt == "You are a patient baking teacher."
    assert sourdough.options == {"temperature": 0.6, "num_ctx": 4096}
    assert sourdough.pinned and not sourdough.archived
    assert sourdough.created_at == datetime.fromtimestamp(1718000000, tz=UTC)
    assert thread[0].created_at == datetime.fromtimestamp(1718000000, tz=UTC)
    assert haiku.archived and haiku.model == "gemma3:4b"


def test_chatgpt_export_imports_the_branch_ending_at_the_current_node(alice, alice_client):
    response = upload(alice_client, (FIXTURES / "chatgpt_conversations.json").read_bytes())

    assert response.status_code == 302
    iceland, prime = Conversation.objects.for_user(alice).order_by("created_at")
    assert [(m.role, m.content) for m in iceland.messages.order_by("created_at")] == [
        ("user", "What should I pack for Iceland in March?"),
        ("assistant", "Layers: thermal base, fleece, and a waterproof shell."),
        ("user", "Are these boots warm enough?"),
        ("assistant", "Yes, with wool socks."),
    ]
    assert iceland.title == "Packing for Iceland" and iceland.model == "gpt-4o"
    # Thinking is kept, the tool call and its output are not part of the readable thread.
    answer = prime.messages.get(role="assistant")
    assert answer.content == "No: 1234567 = 127 × 9721."
    assert answer.thinking == "Try small divisors first."
    assert answer.model == "o3"
    assert prime.messages.count() == 2


def test_chatgpt_data_export_zip_is_read_for_its_conversations_json(alice, alice_client):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("user.json", "{}")
        z.writestr("conversations.json", (FIXTURES / "chatgpt_conversations.json").read_bytes())

    response = upload(alice_client, archive.getvalue(), "chatgpt-export.zip")

    assert response.status_code == 302
    assert Conversation.objects.for_user(alice).count() == 2


def test_imported_messages_are_found_by_search(alice, alice_client):
    upload(alice_client, (FIXTURES / "open_webui_export.json").read_bytes())

    hits = search(alice, "rye").hits

    assert [h.message.content for h in hits if h.message] == [
        "Which flour works best for a rye starter?",
        "Whole rye flour: it ferments vigorously.",
    ] or len(hits) == 2


# Bad files ----------------------------------------------------------------------------------


def chatsite_file(**message_fields) -> bytes:
    good = {"role": "user", "content": "hi"}
    return json.dumps(
        {
            "format": "chatsite",
            "version": 1,
            "conversations": [
                {"title": "Fine", "messages": [good]},
                {"title": "Trip to Rome", "messages": [good, {**good, **message_fields}]},
            ],
        }
    ).encode()


def open_webui_file(current_id: str) -> bytes:
    chats = json.loads((FIXTURES / "open_webui_export.json").read_text())
    chats[1]["chat"]["history"]["currentId"] = current_id
    return json.dumps(chats).encode()


def chatgpt_file(parent: str) -> bytes:
    conversations = json.loads((FIXTURES / "chatgpt_conversations.json").read_text())
    conversations[1]["mapping"]["f"]["parent"] = parent
    return json.dumps(conversations).encode()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "The file is not valid JSON (line 1, column 2"),
        (b"\xff\xfe\x00", "The file is not UTF-8 text"),
        (b'{"hello": "world"}', "This file is not a chatsite, Open WebUI or ChatGPT export"),
        (b"[]", "there are no conversations in it"),
        (
            chatsite_file(role="system"),
            'Chat 2 ("Trip to Rome"), message 2: "role" must be "user" or "assistant", '
            'not "system".',
        ),
        (
            chatsite_file(content=None),
            'Chat 2 ("Trip to Rome"), message 2: "content" must be text, not null.',
        ),
        (
            chatsite_file(eval_count=-3),
            'Chat 2 ("Trip to Rome"), message 2: "eval_count" must be a whole number',
        ),
        (
            chatsite_file(created_at="yesterday"),
            'Chat 2 ("Trip to Rome"), message 2: "created_at" must be a date and time',
        ),
        (
            json.dumps({"format": "chatsite", "version": 7, "conversations": []}).encode(),
            "The file is chatsite export version 7; this site reads version 1.",
        ),
        (
            open_webui_file("nowhere"),
            'Chat 2 ("Haiku about autumn"), "chat.history": "currentId" must name one of its '
            'messages, not "nowhere".',
        ),
        (
            chatgpt_file("missing-node"),
            'Chat 2 ("Prime check"), "mapping": "parent" names "missing-node", which is not one '
            "of its messages.",
        ),
        (
            chatgpt_file("f"),
            'Chat 2 ("Prime check"), "mapping": the "parent" links of "f" form a loop.',
        ),
    ],
    ids=[
        "not-json", "not-utf8", "unknown-shape", "empty-list", "bad-role", "null-content",
        "negative-count", "bad-date", "future-version", "open-webui-current-id",
        "chatgpt-parent", "chatgpt-loop",
    ],
)  # fmt: skip
def test_a_bad_file_changes_nothing_and_says_what_was_wrong(
    alice, alice_client, alices_history, content, problem
):
    before = everything()

    response = upload(alice_client, content)

    page = response.content.decode()
    assert response.status_code == 400
    assert problem.replace('"', "&quot;") in page
    assert "Nothing was imported." in page
    assert everything() == before


def test_an_upload_over_the_size_limit_is_refused_with_the_limit(alice_client, settings):
    settings.CHAT_IMPORT_MAX_BYTES = 1000

    response = upload(alice_client, b"[" + b" " * 2000 + b"]")

    page = response.content.decode()
    assert response.status_code == 400
    assert "imports are limited to 1000\xa0bytes (CHAT_IMPORT_MAX_BYTES)" in page
    assert Conversation.objects.count() == 0


def test_the_import_page_offers_the_upload_and_the_export(alice_client):
    page = alice_client.get(IMPORT).content.decode()

    assert 'type="file"' in page
    assert reverse("conversations:export_all") in page
