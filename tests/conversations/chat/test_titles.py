"""Conversation titles (conversations.chat.titles): cleaning a model's answer, the first words, and
the title request driven directly against the stand-in, giving way to replies."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chatsite.accounts.live import user_group
from chatsite.jobs import taken_lease
from chatsite.ollama import ChatMessage
from conversations.chat.generation import Generation, ReplyJob
from conversations.chat.titles import (
    TITLE_TOKENS,
    TitleJob,
    TitleRequest,
    clean_title,
    first_words,
    replies_group,
)
from conversations.models import Conversation, Message
from tests.factories import make_conversation, make_message, make_user
from tests.ollama_standin import Failure

SKY = "Why is the sky blue? I have always wondered about it."


def test_markdown_quotes_labels_and_trailing_punctuation_are_taken_out_of_a_title():
    assert clean_title('**Why** the sky is "blue"...') == "Why the sky is blue"
    assert clean_title("## Title: `Rust` _ownership_ explained!") == "Rust ownership explained"
    assert clean_title("“Blue skies explained.”\nA second line") == "Blue skies explained"
    assert clean_title("**Title:** 'Sunset colours'") == "Sunset colours"
    assert clean_title("- Reading snake_case names in Python's code?") == (
        "Reading snake_case names in Python's code"
    )
    assert clean_title("\n  \n") == ""
    assert clean_title("**") == ""


def test_a_long_title_is_cut_between_words_within_80_characters():
    raw = "Understanding how Rayleigh scattering of sunlight by the molecules of the atmosphere "
    raw += "makes the daytime sky look blue"

    title = clean_title(raw)

    assert len(title) <= 80
    assert raw.startswith(title) and raw[len(title)] == " "
    assert title == "Understanding how Rayleigh scattering of sunlight by the molecules of the"


def test_a_title_ending_in_punctuation_after_the_cut_loses_it():
    title = clean_title("A very, very long title about skies, seas, sunsets, and; " + "words " * 20)
    assert len(title) <= 80 and title[-1].isalnum()


def test_the_first_words_are_one_line_cut_between_words():
    assert first_words("Why is the sky blue?") == "Why is the sky blue?"
    assert first_words("Two\nlines  here") == "Two lines here"
    long = first_words("Please explain " + "the colour of the evening sky " * 5)
    assert len(long) <= 60 and long.endswith("…")
    assert ("Please explain " + "the colour of the evening sky " * 5).startswith(long[:-1] + " ")


def test_each_ollama_server_has_its_own_replies_group(settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:11434"
    assert replies_group(None) == replies_group("http://127.0.0.1:11434/")
    assert replies_group("http://gpu-2:11434") != replies_group(None)


# --- the title request, against the stand-in ---------------------------------------------------


@database_sync_to_async
def first_turn(**fields) -> Conversation:
    conversation = make_conversation(make_user("alice"), title=first_words(SKY), **fields)
    make_message(conversation, content=SKY)
    make_message(conversation, role=Message.Role.ASSISTANT, content="Rayleigh scattering.")
    return conversation


@database_sync_to_async
def replying_conversation_of(username: str) -> Conversation:
    """Another user's conversation whose reply is about to start."""
    conversation = make_conversation(make_user(username), title="Hi", title_settled=True)
    make_message(conversation, content="Hi")
    make_message(conversation, role=Message.Role.ASSISTANT, state=Message.State.STREAMING)
    return conversation


def request_for(conversation: Conversation, **fields) -> TitleRequest:
    return TitleRequest(
        conversation_id=conversation.id,
        owner_id=conversation.owner_id,
        model="llama3.2:latest",
        host=None,
        first_user_text=SKY,
        **fields,
    )


async def stored(conversation: Conversation) -> tuple[str, bool]:
    found = await Conversation.objects.aget(pk=conversation.pk)
    return found.title, found.title_settled


@pytest.mark.django_db(transaction=True)
async def test_the_title_request_is_capped_and_its_answer_cleaned_stored_and_announced(ollama):
    ollama.script_generate('**Why** the sky is "blue"...')
    conversation = await first_turn()
    layer = get_channel_layer()
    owners_tabs = await layer.new_channel()
    await layer.group_add(user_group(conversation.owner_id), owners_tabs)

    state = await TitleJob(request_for(conversation, num_ctx=8192)).run()
    async with asyncio.timeout(5):
        frame = await layer.receive(owners_tabs)

    assert state == TitleJob.ANSWERED
    assert await stored(conversation) == ("Why the sky is blue", True)
    [sent] = ollama.requests_to("/api/generate")
    assert sent.body["options"] == {"num_predict": TITLE_TOKENS, "num_ctx": 8192}
    assert sent.body["stream"] is False and sent.body["think"] is False
    assert SKY in sent.body["prompt"]
    assert 'data-page-title="Why the sky is blue · chatsite"' in frame["html"]


@pytest.mark.django_db(transaction=True)
async def test_no_title_is_asked_while_a_reply_of_the_conversation_is_streaming(ollama):
    conversation = await first_turn()
    await Message.objects.acreate(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        **taken_lease(30),
    )

    state = await TitleJob(request_for(conversation)).run()

    assert state == TitleJob.SKIPPED
    assert ollama.requests_to("/api/generate") == []
    assert await stored(conversation) == (first_words(SKY), False)  # asked after the next reply


@pytest.mark.django_db(transaction=True)
async def test_a_reply_starting_on_the_same_server_stops_the_title_request(ollama):
    ollama.script_generate(failure=Failure.hang())  # a title that would hold the server
    ollama.script_chat("Hello there.")
    conversation = await first_turn()
    title = asyncio.create_task(TitleJob(request_for(conversation)).run())
    await ollama.await_for(lambda s: len(s.requests_to("/api/generate")) == 1)

    elsewhere = await replying_conversation_of("bob")
    reply = await Message.objects.aget(conversation=elsewhere, role=Message.Role.ASSISTANT)
    reply_state = await Generation(
        ReplyJob(
            conversation_id=elsewhere.id,
            owner_id=elsewhere.owner_id,
            message=reply,
            model="llama3.2:latest",
            history=[ChatMessage(role="user", content="Hi")],
        )
    ).run()

    async with asyncio.timeout(10):
        assert await title == TitleJob.stopped_state
    assert reply_state == Message.State.COMPLETE
    await ollama.await_for(lambda s: s.requests_to("/api/generate")[0].client_disconnected)
    assert await stored(conversation) == (first_words(SKY), False)  # asked after the next reply


@pytest.mark.django_db(transaction=True)
async def test_a_rename_made_while_the_title_was_asked_for_wins(ollama):
    ollama.script_generate("Generated title")
    conversation = await first_turn()
    await Conversation.objects.filter(pk=conversation.pk).aupdate(
        title="My own name", title_settled=True
    )

    await TitleJob(request_for(conversation)).run()

    assert await stored(conversation) == ("My own name", True)


@pytest.mark.django_db(transaction=True)
async def test_an_unusable_answer_keeps_the_first_words_and_is_not_asked_again(ollama):
    ollama.script_generate("**")
    conversation = await first_turn()

    await TitleJob(request_for(conversation)).run()

    assert await stored(conversation) == (first_words(SKY), True)


@pytest.mark.django_db(transaction=True)
async def test_a_failed_title_request_keeps_the_first_words_to_be_asked_again(ollama):
    ollama.script_generate(failure=Failure.status(500, "boom"))
    conversation = await first_turn()

    state = await TitleJob(request_for(conversation)).run()

    assert state == TitleJob.FAILED
    assert await stored(conversation) == (first_words(SKY), False)
