"""Fair use: replies generating at once and turns a minute, per user, counted in the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from conversations.chat import actions as chat
from conversations.chat.fair_use import generating_now
from conversations.models import Conversation, Message, TurnStart
from tests.factories import make_conversation, make_message, make_user
from tests.live import open_socket, receive_until, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]

SEND = {"message": "Tell me a long story", "model": "llama3.2"}


async def streaming_replies() -> list[Message]:
    return [m async for m in Message.objects.filter(state=Message.State.STREAMING)]


async def stop_everything() -> None:
    """Stop what the test started, so no generation outlives it."""
    async for conversation in Conversation.objects.all():
        await chat.stop(conversation)
    await wait_until(lambda: _none_streaming(), what="every reply stopped")


async def _none_streaming() -> bool:
    return not await Message.objects.filter(state=Message.State.STREAMING).aexists()


async def test_thirty_new_chats_at_once_open_only_two_streams_at_ollama(ollama):
    ollama.script_chat(["word "] * 2000, token_delay=0.02)
    alice = await database_sync_to_async(make_user)("alice")
    client = AsyncClient()
    await database_sync_to_async(client.force_login)(alice)

    answers = await asyncio.gather(
        *(client.post(reverse("conversations:create"), SEND) for _ in range(30))
    )

    started = [answer for answer in answers if answer.status_code == 302]
    refused = [answer for answer in answers if answer.status_code == 400]
    assert len(started) == 2
    assert len(refused) == 28
    assert "You already have 2 replies being written" in refused[0].content.decode()
    assert ">Tell me a long story</textarea>" in refused[0].content.decode()  # draft kept
    assert await Conversation.objects.acount() == 2
    assert await Message.objects.filter(role=Message.Role.USER).acount() == 2
    await ollama.await_for(lambda s: len(s.requests_to("/api/chat")) == 2)
    await stop_everything()
    assert len(ollama.requests_to("/api/chat")) == 2


async def test_a_reply_generating_on_another_process_counts_and_the_socket_shows_why(
    ollama, settings
):
    settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER = 1
    alice = await database_sync_to_async(make_user)("alice")
    elsewhere = await database_sync_to_async(make_conversation)(alice)
    # A live lease held by some other process: the count is the database's, not this process's.
    await database_sync_to_async(make_message)(
        elsewhere,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        lease_owner="another-process",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    conversation = await database_sync_to_async(make_conversation)(alice)
    socket = await open_socket(alice, f"/ws/chat/{conversation.id}/")
    await socket.connect()
    await socket.send_json_to({"action": "send", **SEND})
    frames = await receive_until(socket, "composer-errors")
    await socket.disconnect()

    assert "You already have 1 reply being written" in frames[-1]
    assert await Message.objects.filter(conversation=conversation).acount() == 0
    assert ollama.requests_to("/api/chat") == []


async def test_the_turn_rate_is_per_minute_and_a_refusal_stores_nothing(ollama, settings):
    settings.CHAT_MAX_TURNS_PER_MINUTE = 3
    alice = await database_sync_to_async(make_user)("alice")
    conversation = await database_sync_to_async(make_conversation)(alice)
    for _ in range(3):
        turn = await chat.send_message(alice, conversation, SEND)
        await wait_until(lambda turn=turn: _finished(turn.reply.pk), what="reply finished")

    with pytest.raises(chat.ChatRefused) as refusal:
        await chat.send_message(alice, conversation, SEND)
    assert refusal.value.errors == [
        "You have started 3 replies in the last minute, the most allowed. "
        "Wait a moment, then send again."
    ]
    assert await Message.objects.filter(conversation=conversation).acount() == 6
    with pytest.raises(chat.ChatRefused):
        await chat.send_message(alice, None, SEND)  # a new chat counts too, and is not created
    assert await Conversation.objects.acount() == 1

    # A minute later the oldest turns no longer count.
    await TurnStart.objects.aupdate(started_at=timezone.now() - timedelta(seconds=61))
    turn = await chat.send_message(alice, conversation, SEND)
    await wait_until(lambda: _finished(turn.reply.pk), what="reply finished")


async def test_another_users_replies_do_not_count_against_alice(ollama, settings):
    settings.CHAT_MAX_ACTIVE_REPLIES_PER_USER = 1
    ollama.script_chat(["word "] * 2000, token_delay=0.02)
    alice = await database_sync_to_async(make_user)("alice")
    bob = await database_sync_to_async(make_user)("bob")
    await chat.send_message(bob, None, SEND)
    turn = await chat.send_message(alice, None, SEND)
    assert turn.reply.state == Message.State.STREAMING
    assert await database_sync_to_async(generating_now)([alice.pk, bob.pk]) == {
        alice.pk: 1,
        bob.pk: 1,
    }
    await stop_everything()


async def _finished(reply_id) -> bool:
    reply = await Message.objects.aget(pk=reply_id)
    return reply.state != Message.State.STREAMING
