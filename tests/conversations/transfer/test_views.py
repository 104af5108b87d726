"""The import and export pages through the test client: round trips, the branch that was shown
in Open WebUI and ChatGPT exports, bad and hostile files refused with nothing changed."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.search.query import search
from tests.conversations.transfer.files import FIXTURES, IMPORT, upload


def streamed(response) -> bytes:
    """The body of a streamed (async) response, read from a sync test."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)()


def export_everything(client) -> bytes:
    return streamed(client.get(reverse("conversations:export_all")))


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
