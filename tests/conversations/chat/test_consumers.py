"""The chat socket end to end: a real ASGI app, the real database, the Ollama stand-in."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.test import AsyncClient
from django.urls import reverse

from conversations.chat.generation import conversation_group
from conversations.models import Conversation, Message
from tests.factories import make_conversation, make_message, make_user
from tests.live import open_socket, receive_until, wait_until
from tests.ollama_standin import Failure

pytestmark = [pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def alice_with_conversation(**fields):
    alice = make_user("alice")
    return alice, make_conversation(alice, **fields)


def send_frame(text: str = "Hello there", **fields) -> str:
    return json.dumps(
        {"action": "send", "message": text, "model": "llama3.2:latest", "HEADERS": {}, **fields}
    )


async def messages_of(conversation: Conversation) -> list[Message]:
    return [m async for m in Message.objects.filter(conversation=conversation)]


async def finished_reply(conversation: Conversation) -> Message | None:
    return (
        await Message.objects.filter(conversation=conversation, role=Message.Role.ASSISTANT)
        .exclude(state=Message.State.STREAMING)
        .afirst()
    )


async def connected(user, conversation):
    socket = await open_socket(user, f"/ws/chat/{conversation.id}/")
    ok, code = await socket.connect()
    assert ok, code
    return socket


async def test_sending_streams_the_reply_and_stores_both_messages(ollama):
    ollama.script_chat("Hi! How can I help?")
    alice, conversation = await alice_with_conversation()
    socket = await connected(alice, conversation)
    await socket.send_to(text_data=send_frame("Hello there"))
    frames = await receive_until(socket, "tokens/s")
    await socket.disconnect()

    joined = "".join(frames)
    assert 'id="composer-input"' in frames[0]  # the sender's composer is cleared first
    assert "Hello there" in joined
    assert "How can I help?" in joined or "help?" in joined
    stored = await messages_of(conversation)
    assert [(m.role, m.state) for m in stored] == [("user", "complete"), ("assistant", "complete")]
    assert stored[0].content == "Hello there"
    assert stored[1].content == "Hi! How can I help?"


async def test_two_sockets_on_one_conversation_both_see_the_stream(ollama):
    ollama.script_chat("Shared words arrive everywhere", token_delay=0.005)
    alice, conversation = await alice_with_conversation()
    first = await connected(alice, conversation)
    second = await connected(alice, conversation)
    await first.send_to(text_data=send_frame())
    seen_by_first = "".join(await receive_until(first, "tokens/s"))
    seen_by_second = "".join(await receive_until(second, "tokens/s"))
    await first.disconnect()
    await second.disconnect()

    for seen in (seen_by_first, seen_by_second):
        assert "everywhere" in seen
    assert 'id="composer-input"' not in seen_by_second  # the other tab keeps its draft


async def test_stop_from_any_socket_stops_ollama_and_keeps_the_partial_reply(ollama):
    ollama.script_chat(["word "] * 500, token_delay=0.02)
    alice, conversation = await alice_with_conversation()
    sender = await connected(alice, conversation)
    other_tab = await connected(alice, conversation)
    await sender.send_to(text_data=send_frame())
    await receive_until(sender, "word", times=3)
    await other_tab.send_to(text_data=json.dumps({"action": "stop"}))
    await receive_until(sender, "Stopped")
    await sender.disconnect()
    await other_tab.disconnect()

    await ollama.await_for(lambda s: s.requests_to("/api/chat")[0].client_disconnected)
    reply = await finished_reply(conversation)
    assert reply.state == Message.State.STOPPED
    assert reply.content.startswith("word word word")
    assert len(reply.content) < len("word ") * 500


async def test_closing_the_socket_mid_stream_lets_the_reply_finish_and_a_new_socket_catch_up(
    ollama,
):
    tokens = [f"t{i} " for i in range(80)]
    ollama.script_chat(tokens, token_delay=0.01)
    alice, conversation = await alice_with_conversation()
    first = await connected(alice, conversation)
    await first.send_to(text_data=send_frame())
    await receive_until(first, "t9 ")
    await first.disconnect()

    await ollama.await_for(lambda s: s.tokens_sent() >= 30)
    reopened = await connected(alice, conversation)
    frames = await receive_until(reopened, "tokens/s")
    await reopened.disconnect()

    caught_up = frames[0]
    assert "t0 " in caught_up and "t9 " in caught_up  # the text so far, in one frame
    assert "t79" in "".join(frames)  # then the live continuation
    reply = await wait_until(lambda: finished_reply(conversation), what="reply stored")
    assert reply.content == "".join(tokens)
    assert len([m for m in await messages_of(conversation) if m.role == "assistant"]) == 1


async def test_a_socket_opened_after_the_reply_finished_gets_its_final_state(ollama):
    alice, conversation = await alice_with_conversation()
    reply = await database_sync_to_async(make_message)(
        conversation, role=Message.Role.ASSISTANT, content="**Done**"
    )
    socket = await connected(alice, conversation)
    frame = await socket.receive_from()
    await socket.disconnect()
    assert f'id="message-{reply.id}"' in frame
    assert "<strong>Done</strong>" in frame


async def test_a_title_generated_before_the_socket_joined_comes_with_the_catch_up(ollama):
    # The page was rendered with the first words; the title came before its socket joined.
    alice, conversation = await alice_with_conversation(title="Sky colours", title_settled=True)
    await database_sync_to_async(make_message)(
        conversation, role=Message.Role.ASSISTANT, content="Blue."
    )
    socket = await connected(alice, conversation)
    frame = await socket.receive_from()
    await socket.disconnect()
    assert "Blue." in frame
    assert 'data-page-title="Sky colours · chatsite" hx-swap-oob="outerHTML"' in frame


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("{not json", "could not be read"),
        ("[1, 2]", "could not be read"),
        (json.dumps({"action": "send", "message": {"nested": True}}), "could not be read"),
        (json.dumps({"action": "dance"}), "could not be read"),
        # A lone surrogate, escaped as JSON allows: no character, so nothing can store it.
        (r'{"action": "send", "message": "\ud800"}', "could not be read"),
        (r'{"action": "send", "message": "Hi", "\udfff": "x"}', "could not be read"),
        (send_frame(system_prompt="\ud800"), "could not be read"),
        (send_frame("   "), "Type a message first."),
        (send_frame(""), "Type a message first."),
        (send_frame("x" * 100_001), "the limit is 100,000"),
        (send_frame(model="nope"), "not installed"),
        (send_frame(temperature="7"), "Temperature"),
        (send_frame(num_ctx="lots"), "Context length"),
        (send_frame(model=""), "Pick a model first."),
        (send_frame(system_prompt="x" * 20_001), "System prompt: Ensure this value"),
        (send_frame(attachment=5), "An attachment of this message is no longer there"),
        (send_frame(attachment=True), "An attachment of this message is no longer there"),
    ],
)
async def test_bad_input_gets_a_clear_error_keeps_the_socket_open_and_stores_nothing(
    ollama, frame, error
):
    alice, conversation = await alice_with_conversation()
    socket = await connected(alice, conversation)
    await socket.send_to(text_data=frame)
    reply = await socket.receive_from()
    assert 'id="composer-errors"' in reply
    assert error in reply.replace("&#x27;", "'")
    assert "None:" not in reply
    assert await messages_of(conversation) == []

    ollama.script_chat("Still here.")
    await socket.send_to(text_data=send_frame("A good message"))
    await receive_until(socket, "tokens/s")
    await socket.disconnect()
    assert len(await messages_of(conversation)) == 2


async def test_a_second_send_while_streaming_is_refused_and_damages_nothing(ollama):
    ollama.script_chat(["slow "] * 100, token_delay=0.02)
    alice, conversation = await alice_with_conversation()
    socket = await connected(alice, conversation)
    await socket.send_to(text_data=send_frame("first"))
    await ollama.await_for(lambda s: s.tokens_sent() >= 2)
    await socket.send_to(text_data=send_frame("second"))
    frames = await receive_until(socket, "still being written")
    await socket.send_to(text_data=json.dumps({"action": "stop"}))
    await receive_until(socket, "Stopped")
    await socket.disconnect()

    assert any("still being written" in f for f in frames)
    stored = await messages_of(conversation)
    assert [m.content for m in stored if m.role == "user"] == ["first"]
    assert len(ollama.requests_to("/api/chat")) == 1


async def test_regenerate_replaces_the_last_reply(ollama):
    ollama.script_chat("First answer.", once=True)
    ollama.script_chat("Second answer.", once=True)
    alice, conversation = await alice_with_conversation()
    socket = await connected(alice, conversation)
    await socket.send_to(text_data=send_frame("Question"))
    await receive_until(socket, "tokens/s")
    first_reply = await finished_reply(conversation)
    await socket.send_to(text_data=json.dumps({"action": "regenerate"}))
    frames = await receive_until(socket, "tokens/s")
    await socket.disconnect()

    assert f'id="message-{first_reply.id}" hx-swap-oob="delete"' in "".join(frames)
    stored = await messages_of(conversation)
    assert [m.content for m in stored] == ["Question", "Second answer."]


async def test_a_failed_reply_can_be_retried(ollama):
    ollama.script_chat(failure=Failure.status(503, "server busy, please try again."), once=True)
    alice, conversation = await alice_with_conversation()
    socket = await connected(alice, conversation)
    await socket.send_to(text_data=send_frame("Hi"))
    frames = await receive_until(socket, "Retry")
    assert "server busy" in frames[-1]
    ollama.script_chat("Back again.")
    await socket.send_to(text_data=json.dumps({"action": "regenerate"}))
    await receive_until(socket, "tokens/s")
    await socket.disconnect()

    stored = await messages_of(conversation)
    assert [(m.content, m.state) for m in stored] == [
        ("Hi", "complete"),
        ("Back again.", "complete"),
    ]


async def test_editing_the_last_message_resends_it_and_replaces_the_reply(ollama):
    ollama.script_chat("Answer to a typo.", once=True)
    ollama.script_chat("Answer to the fix.", once=True)
    alice, conversation = await alice_with_conversation()
    socket = await connected(alice, conversation)
    await socket.send_to(text_data=send_frame("Wht is 2+2?"))
    await receive_until(socket, "tokens/s")
    question = (await messages_of(conversation))[0]
    edit = {"action": "edit", "message_id": str(question.id), "message": "What is 2+2?"}
    await socket.send_to(text_data=json.dumps(edit))
    await receive_until(socket, "tokens/s")
    await socket.disconnect()

    stored = await messages_of(conversation)
    assert [m.content for m in stored] == ["What is 2+2?", "Answer to the fix."]
    assert ollama.requests_to("/api/chat")[-1].body["messages"][-1]["content"] == "What is 2+2?"


async def test_only_the_last_message_can_be_edited(ollama):
    alice, conversation = await alice_with_conversation()
    old = await database_sync_to_async(make_message)(conversation, content="old")
    await database_sync_to_async(make_message)(
        conversation, role=Message.Role.ASSISTANT, content="reply"
    )
    await database_sync_to_async(make_message)(conversation, content="newer")
    socket = await connected(alice, conversation)
    await socket.receive_from()  # catch-up frame
    edit = {"action": "edit", "message_id": str(old.id), "message": "changed"}
    await socket.send_to(text_data=json.dumps(edit))
    frame = await socket.receive_from()
    await socket.disconnect()
    assert "Only your last message can be edited." in frame
    assert (await Message.objects.aget(pk=old.pk)).content == "old"


async def test_history_sent_to_the_model_includes_the_system_prompt_and_skips_failed_replies(
    ollama,
):
    alice, conversation = await alice_with_conversation(system_prompt="Be brief.")
    await database_sync_to_async(make_message)(conversation, content="first question")
    await database_sync_to_async(make_message)(
        conversation,
        role=Message.Role.ASSISTANT,
        state=Message.State.FAILED,
        content="",
        error="down",
    )
    await database_sync_to_async(make_message)(conversation, content="second question")
    await database_sync_to_async(make_message)(
        conversation, role=Message.Role.ASSISTANT, state=Message.State.STOPPED, content="part"
    )
    socket = await connected(alice, conversation)
    await socket.receive_from()
    await socket.send_to(text_data=send_frame("third", system_prompt="Be brief."))
    await receive_until(socket, "tokens/s")
    await socket.disconnect()

    sent = ollama.requests_to("/api/chat")[0].body["messages"]
    assert sent == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "part"},
        {"role": "user", "content": "third"},
    ]


async def test_anonymous_sockets_are_refused(ollama):
    alice, conversation = await alice_with_conversation()
    socket = await open_socket(None, f"/ws/chat/{conversation.id}/")
    ok, code = await socket.connect()
    assert not ok
    assert code == 4403


async def test_a_rename_shows_in_every_open_tab_of_the_owner(ollama):
    alice, conversation = await alice_with_conversation(title="Old name")
    socket = await connected(alice, conversation)
    client = AsyncClient()
    await client.aforce_login(alice)
    response = await client.post(
        reverse("conversations:rename", args=[conversation.id]), {"title": "New name"}
    )
    frames = await receive_until(socket, "New name")
    await socket.disconnect()

    assert response.status_code in (200, 302)
    assert f'id="conversation-link-{conversation.id}"' in frames[-1]
    assert (await Conversation.objects.aget(pk=conversation.pk)).title == "New name"


async def test_a_generations_frame_reaches_the_socket_while_the_database_thread_is_busy():
    # Forwarding a frame must not wait for the one thread the ORM runs on (Channels would hop
    # there before every handler): at load that hop per frame per socket was the relay's cost.
    alice, conversation = await alice_with_conversation()
    await database_sync_to_async(make_message)(
        conversation, role=Message.Role.ASSISTANT, content="Earlier reply"
    )
    socket = await connected(alice, conversation)
    await receive_until(socket, "Earlier reply")  # the catch-up: connecting is over
    release = threading.Event()
    busy = asyncio.ensure_future(database_sync_to_async(release.wait)())
    try:
        await get_channel_layer().group_send(
            conversation_group(conversation.id),
            {"type": "chat.frame", "html": "<p>while busy</p>", "generation": "g", "seq": 1},
        )
        assert await socket.receive_from(timeout=5) == "<p>while busy</p>"
    finally:
        release.set()
        await busy
        await socket.disconnect()
