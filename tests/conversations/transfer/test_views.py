"""Export (Markdown, JSON, everything) and import (chatsite, Open WebUI, ChatGPT): round trips,
the branch that was shown, and bad files refused with nothing changed."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.search.query import search
from conversations.transfer import store
from conversations.transfer.importers import ImportedConversation, ImportedMessage
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
            chatsite_file(eval_count=1e20),
            'Chat 2 ("Trip to Rome"), message 2: "eval_count" must be a whole number from 0 to '
            "2,147,483,647 or null, not 1e+20.",
        ),
        (
            chatsite_file(created_at="9999-12-31T23:59:59-23:59"),
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
        "negative-count", "bad-date", "huge-count", "date-past-9999-in-utc", "future-version",
        "open-webui-current-id",
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


# Hostile files: no hang, no 500, nothing half-stored ---------------------------------------


def test_an_open_webui_0_12_export_imports_whole(alice, alice_client):
    response = upload(alice_client, (FIXTURES / "open_webui_0_12_export.json").read_bytes())

    assert response.status_code == 302
    camping, fibonacci = Conversation.objects.for_user(alice).order_by("created_at")
    assert (fibonacci.title, fibonacci.model) == ("Fibonacci in Rust", "qwen3:8b")
    assert fibonacci.options == {"temperature": 0.7, "num_ctx": 8192}
    thread = list(fibonacci.messages.order_by("created_at"))
    # The branch on screen: the regenerated answer by gpt-oss, not the first one by qwen3.
    assert [(m.role, m.model) for m in thread] == [
        ("user", ""), ("assistant", "qwen3:8b"), ("user", ""), ("assistant", "gpt-oss:20b"),
    ]  # fmt: skip
    first, second = thread[1], thread[3]
    assert first.content.startswith("Here is a straightforward recursive version:\n\n```rust\n")
    assert "        _ => fib(n - 1) + fib(n - 2),\n" in first.content
    assert first.content.endswith("so keep `n < 40`.")
    assert first.thinking == (
        "The user wants a Fibonacci function in Rust.\n"
        "A match on n reads well; mention the exponential cost."
    )
    assert (first.prompt_eval_count, first.eval_count) == (18, 152)
    assert (first.eval_duration_ns, first.total_duration_ns) == (3_690_000_000, 5_210_000_000)
    assert 'println!("{:?}", &values);' in second.content
    assert second.thinking.startswith("They worry about the stack.\n")
    assert (second.prompt_eval_count, second.eval_count) == (240, 311)
    assert fibonacci.created_at == datetime.fromtimestamp(1760500000, tz=UTC)
    # Before and after the upgrade to 0.12 in one chat: <details> in the content, then output.
    old, new = camping.messages.filter(role="assistant").order_by("created_at")
    assert (old.thinking, old.content) == (
        "Two nights, rain likely.\nKeep the list short.",
        "- Tent with a rain fly\n- Wool layers & a shell\n- Dry bags",
    )
    assert (new.thinking, new.content) == (
        "Food that needs no cooking when it pours.",
        "Oats, nuts, cheese, tortillas.",
    )
    assert camping.pinned and camping.messages.count() == 4


def test_a_megabyte_reasoning_block_imports_in_linear_time_cut_at_the_message_limit(
    alice, alice_client, settings
):
    # 60 KB of this froze the whole process for 10 s; 2 MB would have taken hours.
    settings.CHAT_MAX_MESSAGE_CHARS = 1000
    chats = json.loads((FIXTURES / "open_webui_export.json").read_text())
    attack = '<details type="reasoning">' + " " * (2 * 1024 * 1024) + "x"
    chats[1]["chat"]["history"]["messages"]["m2"]["content"] = attack

    response = upload(alice_client, json.dumps(chats).encode())

    page = alice_client.get(response["Location"]).content.decode()
    reply = Message.objects.for_user(alice).get(content__startswith="<details")
    assert reply.content.endswith("[… cut at 1,000 characters on import]")
    assert len(reply.content) == 1000
    assert "1 message was longer than 1,000 characters and was cut" in page


def chatgpt_with(value_text: str, *paths: tuple) -> bytes:
    """The ChatGPT fixture with a literal JSON value (Infinity, 1e400, ...) at each path."""
    conversations = json.loads((FIXTURES / "chatgpt_conversations.json").read_text())
    for path in paths:
        place = conversations
        for key in path[:-1]:
            place = place[key]
        place[path[-1]] = "__value__"
    return json.dumps(conversations).replace('"__value__"', value_text).encode()


def first_node_with_a_message(conversation: dict) -> str:
    return next(k for k, n in conversation["mapping"].items() if n.get("message"))


@pytest.mark.parametrize(
    "value",
    ["Infinity", "-Infinity", "NaN", "1e20", "-1e20", "1e400", '"yesterday"', "true", "[]"],
)
def test_a_chatgpt_time_that_is_no_time_imports_as_now(alice, alice_client, value):
    conversations = json.loads((FIXTURES / "chatgpt_conversations.json").read_text())
    node = first_node_with_a_message(conversations[1])
    before = timezone.now()

    response = upload(
        alice_client,
        chatgpt_with(
            value,
            (1, "create_time"),
            (1, "update_time"),
            (1, "mapping", node, "message", "create_time"),
        ),
    )

    assert response.status_code == 302
    prime = Conversation.objects.for_user(alice).get(title="Prime check")
    assert before <= prime.created_at <= timezone.now()
    assert prime.messages.count() == 2


@pytest.mark.parametrize("thoughts", ["5", '"text"', "null", '[5, null, {"content": 7}]'])
def test_chatgpt_thoughts_of_the_wrong_type_are_ignored(alice, alice_client, thoughts):
    conversations = json.loads((FIXTURES / "chatgpt_conversations.json").read_text())
    node = next(
        k
        for k, n in conversations[1]["mapping"].items()
        if (n.get("message") or {}).get("content", {}).get("content_type") == "thoughts"
    )

    response = upload(
        alice_client,
        chatgpt_with(thoughts, (1, "mapping", node, "message", "content", "thoughts")),
    )

    assert response.status_code == 302
    answer = (
        Conversation.objects.for_user(alice).get(title="Prime check").messages.get(role="assistant")
    )
    assert (answer.content, answer.thinking) == ("No: 1234567 = 127 × 9721.", "")


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "1e20", "-1e20", '"12"', "1" + "0" * 5000, "{}"]
)
def test_an_open_webui_count_or_time_that_is_no_number_is_ignored(alice, alice_client, value):
    chats = json.loads((FIXTURES / "open_webui_export.json").read_text())
    reply = chats[0]["chat"]["history"]["messages"]["a1"]
    reply["info"] = {"eval_count": "__value__", "eval_duration": "__value__"}
    reply["timestamp"] = chats[0]["created_at"] = "__value__"
    content = json.dumps(chats).replace('"__value__"', value).encode()

    response = upload(alice_client, content)

    assert response.status_code == 302
    message = Message.objects.for_user(alice).get(content__startswith="Not dead")
    assert (message.eval_count, message.eval_duration_ns) == (None, None)


def test_nul_characters_and_lone_surrogates_are_stored_as_text(alice, alice_client):
    content = chatsite_file(content="nul\x00here \ud800 alone", thinking="\udfff")

    response = upload(alice_client, content)

    assert response.status_code == 302
    message = Message.objects.for_user(alice).get(content__startswith="nul")
    assert (message.content, message.thinking) == ("nulhere \ufffd alone", "\ufffd")


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
