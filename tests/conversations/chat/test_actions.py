"""conversations.chat.actions driven directly, with no socket: send, regenerate, edit and
resend, stop."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from chatsite.jobs import running_tasks
from conversations.chat import actions as chat
from conversations.models import Conversation, Message
from tests.factories import make_user
from tests.live import GroupListener, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]

SEND = {"message": "Why is the sky blue?", "model": "llama3.2"}


async def settled(reply: Message) -> Message:
    """The reply once its generation has stored an outcome."""

    async def outcome() -> Message | None:
        found = await Message.objects.aget(pk=reply.pk)
        return None if found.state == Message.State.STREAMING else found

    return await wait_until(outcome, what="the reply's outcome")


async def generations_done() -> None:
    """Every generation this process started has ended, its title step included."""
    await asyncio.gather(*running_tasks(), return_exceptions=True)


async def thread(conversation: Conversation) -> list[tuple[str, str]]:
    messages = Message.objects.filter(conversation=conversation).order_by("created_at", "-role")
    return [(m.role, m.content) async for m in messages]


@pytest.fixture
async def alice():
    return await database_sync_to_async(make_user)("alice")


async def test_send_message_starts_a_new_conversation_and_streams_the_reply(ollama, alice):
    ollama.script_chat("Rayleigh scattering.")
    turn = await chat.send_message(alice, None, SEND)

    assert turn.conversation.owner_id == alice.pk
    assert turn.conversation.title == "Why is the sky blue?"
    assert turn.user_message.content == "Why is the sky blue?"
    reply = await settled(turn.reply)
    assert (reply.state, reply.content) == (Message.State.COMPLETE, "Rayleigh scattering.")


async def test_a_stop_sent_right_after_the_send_is_never_lost(ollama, alice):
    ollama.script_chat(["word "] * 2000, token_delay=0.01)
    turn = await chat.send_message(alice, None, SEND)
    await chat.stop(turn.conversation)  # before the generation has taken a single step

    reply = await settled(turn.reply)
    assert reply.state == Message.State.STOPPED
    assert ollama.tokens_sent() < 2000


async def test_regenerate_replaces_the_last_reply(ollama, alice):
    ollama.script_chat("First answer.", once=True)
    ollama.script_chat("Second answer.")
    first = await chat.send_message(alice, None, SEND)
    await settled(first.reply)

    again = await chat.regenerate(alice, first.conversation)
    await settled(again.reply)
    assert again.user_message is None
    assert first.reply.pk in again.removed_ids
    assert await thread(first.conversation) == [
        ("user", "Why is the sky blue?"),
        ("assistant", "Second answer."),
    ]


async def test_regenerate_with_no_reply_is_refused(ollama, alice):
    conversation = await Conversation.objects.acreate(owner=alice, model="llama3.2:latest")
    with pytest.raises(chat.ChatRefused) as refusal:
        await chat.regenerate(alice, conversation)
    assert refusal.value.errors == ["There is no reply to regenerate."]


async def test_edit_and_resend_changes_the_last_message_and_answers_it_again(ollama, alice):
    ollama.script_chat("About the sky.", once=True)
    ollama.script_chat("About the sea.")
    first = await chat.send_message(alice, None, SEND)
    await settled(first.reply)

    edited = await chat.edit_and_resend(
        alice,
        first.conversation,
        {"message_id": str(first.user_message.pk), "message": "Why is the sea blue?"},
    )
    await settled(edited.reply)
    assert await thread(first.conversation) == [
        ("user", "Why is the sea blue?"),
        ("assistant", "About the sea."),
    ]
    sent = ollama.requests_to("/api/chat")[-1].body["messages"]
    assert sent == [{"role": "user", "content": "Why is the sea blue?"}]


async def test_only_the_last_message_can_be_edited(ollama, alice):
    first = await chat.send_message(alice, None, SEND)
    await settled(first.reply)
    second = await chat.send_message(alice, first.conversation, {**SEND, "message": "And red?"})
    await settled(second.reply)

    with pytest.raises(chat.ChatRefused) as refusal:
        await chat.edit_and_resend(
            alice,
            first.conversation,
            {"message_id": str(first.user_message.pk), "message": "Changed"},
        )
    assert refusal.value.errors == ["Only your last message can be edited."]
    assert ("user", "Changed") not in await thread(first.conversation)


async def test_a_send_while_a_reply_streams_is_refused_and_stores_nothing(ollama, alice):
    ollama.script_chat(["slow "] * 500, token_delay=0.01)
    first = await chat.send_message(alice, None, SEND)
    with pytest.raises(chat.ChatRefused) as refusal:
        await chat.send_message(alice, first.conversation, {**SEND, "message": "Second"})
    assert refusal.value.errors == [chat.BUSY]
    await chat.stop(first.conversation)
    await settled(first.reply)
    assert [text for role, text in await thread(first.conversation) if role == "user"] == [
        "Why is the sky blue?"
    ]


async def test_a_model_that_is_not_installed_is_refused_naming_the_server(ollama, alice):
    with pytest.raises(chat.ChatRefused) as refusal:
        await chat.send_message(alice, None, {**SEND, "model": "nope"})
    assert refusal.value.errors == [
        f"The model 'nope' is not installed on Ollama at {ollama.url}. Pick another model."
    ]
    assert await Conversation.objects.acount() == 0


async def test_the_turn_is_announced_to_the_conversations_sockets(ollama, alice):
    conversation = await Conversation.objects.acreate(owner=alice, model="llama3.2:latest")
    async with GroupListener(conversation.id) as listener:
        turn = await chat.send_message(alice, conversation, SEND)
        frames = await listener.until(f'id="message-{turn.reply.id}"')
    assert "Why is the sky blue?" in frames[0]["html"]
    await settled(turn.reply)


async def test_the_title_is_generated_once_not_again_after_regenerate_or_edit(ollama, alice):
    ollama.script_generate("Sky colours", once=True)
    ollama.script_generate("Another title")
    first = await chat.send_message(alice, None, SEND)
    await generations_done()
    conversation = await Conversation.objects.aget(pk=first.conversation.pk)
    assert (conversation.title, conversation.title_settled) == ("Sky colours", True)

    await chat.regenerate(alice, conversation)
    await generations_done()
    edited = {"message_id": str(first.user_message.pk), "message": "Why is the sea blue?"}
    await chat.edit_and_resend(alice, conversation, edited)
    await generations_done()

    assert len(ollama.requests_to("/api/generate")) == 1
    assert (await Conversation.objects.aget(pk=conversation.pk)).title == "Sky colours"


async def test_a_conversation_the_user_renamed_gets_no_generated_title(ollama, alice):
    conversation = await Conversation.objects.acreate(
        owner=alice, model="llama3.2:latest", title="Trip", title_settled=True
    )
    await chat.send_message(alice, conversation, SEND)
    await generations_done()

    assert ollama.requests_to("/api/generate") == []
    assert (await Conversation.objects.aget(pk=conversation.pk)).title == "Trip"
