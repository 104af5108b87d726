"""Attachments in a send: taken onto the user's message, sent to Ollama (images as base64 to a
vision model, documents in delimited blocks), refused before anything is stored otherwise."""

from __future__ import annotations

import base64
import json

import pytest
from channels.db import database_sync_to_async

from conversations.attachments import intake
from conversations.chat import actions as chat
from conversations.chat.consumers import _parse_frame
from conversations.models import Attachment, Conversation, Message
from tests.conversations.attachments import files
from tests.factories import make_user
from tests.live import open_socket, receive_until, wait_until
from tests.ollama_standin import received_images

pytestmark = [pytest.mark.django_db(transaction=True)]

VISION = "gemma3:4b"


@pytest.fixture
async def alice():
    return await database_sync_to_async(make_user)("alice")


@pytest.fixture
def vision(ollama):
    ollama.add_vision_model(VISION)
    return ollama


accept = database_sync_to_async(intake.accept_upload)


async def settled(reply: Message) -> Message:
    async def outcome() -> Message | None:
        found = await Message.objects.aget(pk=reply.pk)
        return None if found.state == Message.State.STREAMING else found

    return await wait_until(outcome, what="the reply's outcome")


async def test_an_image_reaches_a_vision_model_as_base64_within_the_size_limit(vision, alice):
    image = await accept(alice, "shot.png", files.png(4000, 2000))

    turn = await chat.send_message(
        alice, None, {"message": "What is this?", "model": VISION, "attachment": str(image.pk)}
    )
    reply = await settled(turn.reply)

    [request] = vision.requests_to("/api/chat")
    [seen] = received_images(request)
    assert (seen.format, seen.width, seen.height) == ("PNG", 1568, 784)
    assert request.body["messages"][-1]["content"] == "What is this?"
    assert reply.content == "I was shown 1 image: 1568x784 PNG."
    stored = await Attachment.objects.aget(pk=image.pk)
    assert stored.message_id == turn.user_message.pk


async def test_a_document_goes_to_the_model_in_a_block_with_its_name(ollama, alice):
    notes = await accept(alice, "plan.md", b"# Plan\n\nShip on Friday.")

    turn = await chat.send_message(
        alice, None, {"message": "Summarise", "model": "llama3.2", "attachment": [str(notes.pk)]}
    )
    await settled(turn.reply)

    [request] = ollama.requests_to("/api/chat")
    assert request.body["messages"][-1]["content"] == (
        "Summarise\n\n"
        "----- Attached file: plan.md -----\n"
        "# Plan\n\nShip on Friday.\n"
        "----- End of plan.md -----"
    )
    assert "images" not in request.body["messages"][-1]


async def test_a_cut_document_tells_the_model_how_much_was_cut(ollama, alice, settings):
    settings.CHAT_MAX_ATTACHMENT_CHARS = 10
    notes = await accept(alice, "log.txt", b"0123456789abcdef")

    turn = await chat.send_message(
        alice, None, {"message": "Read", "model": "llama3.2", "attachment": str(notes.pk)}
    )
    await settled(turn.reply)

    content = ollama.requests_to("/api/chat")[0].body["messages"][-1]["content"]
    assert "0123456789\n[Only the first 10 of 16 characters of this file are included.]" in content


async def test_images_for_a_model_that_cannot_see_are_refused_naming_the_vision_models(
    vision, alice
):
    image = await accept(alice, "shot.png", files.png())

    with pytest.raises(chat.ChatRefused) as refused:
        await chat.send_message(
            alice, None, {"message": "Look", "model": "llama3.2", "attachment": str(image.pk)}
        )

    assert refused.value.errors == [
        f"The chosen model cannot see images. Pick a model that can see images: {VISION}."
    ]
    assert await Conversation.objects.acount() == 0
    assert await Message.objects.acount() == 0
    assert (await Attachment.objects.aget(pk=image.pk)).message_id is None  # still in the composer
    assert vision.requests_to("/api/chat") == []


async def test_with_no_vision_model_installed_the_refusal_says_so(ollama, alice):
    image = await accept(alice, "shot.png", files.png())

    with pytest.raises(chat.ChatRefused, match="No installed model can see images"):
        await chat.send_message(
            alice, None, {"message": "Look", "model": "llama3.2", "attachment": str(image.pk)}
        )


async def test_more_images_than_a_message_may_carry_are_refused(vision, alice, settings):
    settings.CHAT_MAX_IMAGES_PER_MESSAGE = 2
    ids = [str((await accept(alice, f"{n}.png", files.png(10 + n, 10))).pk) for n in range(3)]

    with pytest.raises(chat.ChatRefused) as refused:
        await chat.send_message(alice, None, {"message": "x", "model": VISION, "attachment": ids})

    assert refused.value.errors == [
        "This message has 3 images; a message can carry at most 2. Remove some and send again."
    ]
    assert await Message.objects.acount() == 0


async def test_someone_elses_attachment_cannot_be_sent(ollama, alice):
    bob = await database_sync_to_async(make_user)("bob")
    bobs = await accept(bob, "bob.txt", b"bob's secret")

    with pytest.raises(chat.ChatRefused, match="no longer there"):
        await chat.send_message(
            alice, None, {"message": "x", "model": "llama3.2", "attachment": str(bobs.pk)}
        )

    assert (await Attachment.objects.aget(pk=bobs.pk)).message_id is None
    assert await Message.objects.acount() == 0


async def test_a_sent_attachment_cannot_be_sent_again(ollama, alice):
    notes = await accept(alice, "a.txt", b"text")
    data = {"message": "x", "model": "llama3.2", "attachment": str(notes.pk)}
    turn = await chat.send_message(alice, None, data)
    await settled(turn.reply)

    with pytest.raises(chat.ChatRefused, match="no longer there"):
        await chat.send_message(alice, turn.conversation, data)


async def test_later_turns_resend_earlier_images(vision, alice):
    first = await accept(alice, "one.png", files.png(30, 20))
    turn = await chat.send_message(
        alice, None, {"message": "First", "model": VISION, "attachment": str(first.pk)}
    )
    await settled(turn.reply)
    second = await accept(alice, "two.jpg", files.jpeg(50, 40))

    turn = await chat.send_message(
        alice,
        turn.conversation,
        {"message": "Second", "model": VISION, "attachment": str(second.pk)},
    )
    reply = await settled(turn.reply)

    request = vision.requests_to("/api/chat")[-1]
    images = received_images(request)
    assert [(i.message, i.width, i.height) for i in images] == [(0, 30, 20), (2, 50, 40)]
    assert reply.content == "I was shown 2 images: 30x20 PNG, 50x40 JPEG."


async def test_earlier_images_that_would_overflow_the_context_are_not_resent(vision, alice):
    first = await accept(alice, "one.png", files.png(30, 20))
    send = {"message": "First", "model": VISION, "num_ctx": "1000", "attachment": str(first.pk)}
    turn = await chat.send_message(alice, None, send)
    await settled(turn.reply)
    second = await accept(alice, "two.png", files.png(50, 40))

    send = {"message": "Second", "model": VISION, "num_ctx": "1000", "attachment": str(second.pk)}
    turn = await chat.send_message(alice, turn.conversation, send)
    await settled(turn.reply)

    # One image (about 768 tokens) fits in 1,000 tokens: the newest message's.
    request = vision.requests_to("/api/chat")[-1]
    assert [(i.message, i.width) for i in received_images(request)] == [(2, 50)]


def test_a_socket_frame_may_carry_several_attachment_ids_as_a_list():
    frame = _parse_frame('{"message": "hi", "attachment": ["a", "b"], "HEADERS": {}}')
    assert frame == {"message": "hi", "attachment": ["a", "b"]}
    assert _parse_frame('{"message": "hi", "attachment": [1, {"x": 2}]}') is None


async def test_images_sent_to_ollama_are_plain_base64_with_no_data_prefix(vision, alice):
    image = await accept(alice, "shot.png", files.png())
    turn = await chat.send_message(
        alice, None, {"message": "x", "model": VISION, "attachment": str(image.pk)}
    )
    await settled(turn.reply)

    [text] = vision.requests_to("/api/chat")[0].body["messages"][-1]["images"]
    assert base64.b64decode(text, validate=True).startswith(b"\x89PNG")


async def test_regenerate_sends_the_image_again(vision, alice):
    image = await accept(alice, "shot.png", files.png(40, 30))
    turn = await chat.send_message(
        alice, None, {"message": "What is it?", "model": VISION, "attachment": str(image.pk)}
    )
    await settled(turn.reply)

    again = await chat.regenerate(alice, turn.conversation)
    reply = await settled(again.reply)

    assert reply.content == "I was shown 1 image: 40x30 PNG."
    assert len(received_images(vision.requests_to("/api/chat")[-1])) == 1


async def test_editing_a_message_keeps_its_attachments(ollama, alice):
    notes = await accept(alice, "a.txt", b"the facts")
    turn = await chat.send_message(
        alice, None, {"message": "Read", "model": "llama3.2", "attachment": str(notes.pk)}
    )
    await settled(turn.reply)

    edited = await chat.edit_and_resend(
        alice,
        turn.conversation,
        {"message_id": str(turn.user_message.pk), "message": "Read again"},
    )
    await settled(edited.reply)

    content = ollama.requests_to("/api/chat")[-1].body["messages"][-1]["content"]
    assert content.startswith("Read again\n\n----- Attached file: a.txt -----\nthe facts\n")


async def test_a_socket_send_with_several_files_shows_them_and_clears_the_tray(ollama, alice):
    conversation = await database_sync_to_async(Conversation.objects.create)(owner=alice)
    first = await accept(alice, "a.txt", b"first file")
    second = await accept(alice, "b.txt", b"second file")
    socket = await open_socket(alice, f"/ws/chat/{conversation.id}/")
    assert (await socket.connect())[0]

    await socket.send_to(
        text_data=json.dumps(
            {
                "action": "send",
                "message": "Both",
                "model": "llama3.2:latest",
                "attachment": [str(first.pk), str(second.pk)],
                "HEADERS": {},
            }
        )
    )
    frames = "".join(await receive_until(socket, "tokens/s"))
    await socket.disconnect()

    assert (
        '<div id="attachment-tray" class="attachment-tray" hx-swap-oob="outerHTML"></div>' in frames
    )
    assert frames.index("a.txt") < frames.index("b.txt")  # the user's message, with its chips
    content = ollama.requests_to("/api/chat")[0].body["messages"][-1]["content"]
    assert "----- Attached file: a.txt -----\nfirst file" in content
    assert "----- Attached file: b.txt -----\nsecond file" in content


async def test_earlier_images_are_not_sent_to_a_model_that_cannot_see(vision, alice):
    image = await accept(alice, "shot.png", files.png())
    turn = await chat.send_message(
        alice, None, {"message": "Look", "model": VISION, "attachment": str(image.pk)}
    )
    await settled(turn.reply)

    turn = await chat.send_message(
        alice, turn.conversation, {"message": "Now in words", "model": "llama3.2"}
    )
    await settled(turn.reply)

    request = vision.requests_to("/api/chat")[-1]
    assert request.body["model"] == "llama3.2:latest"
    assert all("images" not in message for message in request.body["messages"])
