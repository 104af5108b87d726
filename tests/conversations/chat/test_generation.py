"""The generation task driven directly: no socket, a real stand-in, the real database."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

from chatsite.accounts.live import user_group
from chatsite.ollama import ChatMessage
from conversations.chat.generation import (
    Generation,
    GenerationTiming,
    ReplyJob,
    control_group,
)
from conversations.models import Conversation, Message
from tests.factories import make_conversation, make_message, make_user
from tests.live import GroupListener
from tests.ollama_standin import Failure

pytestmark = [pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def new_turn(text: str = "Why is the sky blue?", **conversation_fields):
    owner = make_user("alice")
    conversation = make_conversation(owner, **conversation_fields)
    make_message(conversation, content=text)
    reply = make_message(
        conversation, role=Message.Role.ASSISTANT, state=Message.State.STREAMING, content=""
    )
    return conversation, reply


def job_for(conversation: Conversation, reply: Message, **fields) -> ReplyJob:
    fields.setdefault("history", [ChatMessage(role="user", content="Why is the sky blue?")])
    return ReplyJob(
        conversation_id=conversation.id,
        owner_id=conversation.owner_id,
        message=reply,
        model=fields.pop("model", "llama3.2:latest"),
        **fields,
    )


async def stored(reply: Message) -> Message:
    return await Message.objects.aget(pk=reply.pk)


async def test_a_full_reply_is_streamed_to_the_group_and_stored_with_metrics(ollama):
    ollama.script_chat("Rayleigh scattering makes it blue.")
    conversation, reply = await new_turn()
    async with GroupListener(conversation.id) as listener:
        state = await Generation(job_for(conversation, reply)).run()
        frames = await listener.until("tokens/s")

    saved = await stored(reply)
    assert state == Message.State.COMPLETE
    assert saved.state == Message.State.COMPLETE
    assert saved.content == "Rayleigh scattering makes it blue."
    assert saved.eval_count and saved.eval_count > 0
    assert saved.tokens_per_second is not None
    assert saved.lease_expires_at is None
    streamed = "".join(frame["html"] for frame in frames)
    assert "Rayleigh" in streamed and "blue." in streamed
    assert ollama.requests_to("/api/chat")[0].body["messages"] == [
        {"role": "user", "content": "Why is the sky blue?"}
    ]


async def test_options_and_think_are_sent_only_when_set(ollama):
    ollama.add_model("qwen3:8b", capabilities=("completion", "thinking"))
    ollama.script_chat("4", thinking="Simple arithmetic.")
    conversation, reply = await new_turn()
    job = job_for(conversation, reply, model="qwen3:8b", options={"temperature": 0.2}, think=True)
    await Generation(job).run()

    body = ollama.requests_to("/api/chat")[0].body
    assert body["options"] == {"temperature": 0.2}
    assert body["think"] is True
    saved = await stored(reply)
    assert saved.thinking == "Simple arithmetic."
    assert saved.content == "4"


async def test_a_model_without_thinking_is_never_sent_think(ollama):
    conversation, reply = await new_turn()
    await Generation(job_for(conversation, reply, think=None)).run()
    assert "think" not in ollama.requests_to("/api/chat")[0].body


async def test_thinking_streams_into_its_own_section(ollama):
    ollama.add_model("qwen3:8b", capabilities=("completion", "thinking"))
    ollama.script_chat("Four.", thinking="Two plus two.")
    conversation, reply = await new_turn()
    async with GroupListener(conversation.id) as listener:
        await Generation(job_for(conversation, reply, model="qwen3:8b")).run()
        frames = await listener.until("tokens/s")
    thinking_frames = [f["html"] for f in frames if f"message-{reply.id}-thinking" in f["html"]]
    assert "Two" in "".join(thinking_frames)


async def test_stop_closes_the_ollama_stream_and_keeps_the_partial_reply(ollama):
    ollama.script_chat(["one", " two", " three"] * 200, token_delay=0.02)
    conversation, reply = await new_turn()
    generation = Generation(job_for(conversation, reply))
    async with GroupListener(conversation.id) as listener:
        task = asyncio.create_task(generation.run())
        # Wait for what the generation relayed, not what the stand-in wrote: on a busy machine
        # the tokens can still be in flight when a stop sent on the stand-in's count arrives.
        await listener.until("three")
        await get_channel_layer().group_send(control_group(conversation.id), {"type": "chat.stop"})
        state = await task
        await listener.until("Stopped")

    await ollama.await_for(lambda s: s.requests_to("/api/chat")[0].client_disconnected)
    saved = await stored(reply)
    assert state == Message.State.STOPPED
    assert saved.state == Message.State.STOPPED
    assert saved.content.startswith("one two three")
    assert ollama.tokens_sent() < 600


async def test_an_error_mid_stream_interrupts_the_reply_and_keeps_its_text(ollama):
    ollama.script_chat(
        "Once upon a time there was", failure=Failure.error_mid_stream(after_tokens=2)
    )
    conversation, reply = await new_turn()
    async with GroupListener(conversation.id) as listener:
        await Generation(job_for(conversation, reply)).run()
        await listener.until("Interrupted")

    saved = await stored(reply)
    assert saved.state == Message.State.INTERRUPTED
    assert saved.content == "Once upon"
    assert "an error was encountered while running the model" in saved.error


async def test_a_dropped_connection_mid_stream_interrupts_the_reply(ollama):
    ollama.script_chat("a b c d e f", failure=Failure.drop_mid_stream(after_tokens=3))
    conversation, reply = await new_turn()
    await Generation(job_for(conversation, reply)).run()
    saved = await stored(reply)
    assert saved.state == Message.State.INTERRUPTED
    assert saved.content == "a b c"
    assert saved.error


async def test_ollama_down_fails_the_reply_naming_the_host(settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    conversation, reply = await new_turn()
    async with GroupListener(conversation.id) as listener:
        await Generation(job_for(conversation, reply)).run()
        frames = await listener.until("Retry")

    saved = await stored(reply)
    assert saved.state == Message.State.FAILED
    assert "127.0.0.1:9" in saved.error
    assert "127.0.0.1:9" in frames[-1]["html"]


async def test_a_missing_model_fails_the_reply_with_ollamas_words(ollama):
    conversation, reply = await new_turn()
    await Generation(job_for(conversation, reply, model="nope:latest")).run()
    saved = await stored(reply)
    assert saved.state == Message.State.FAILED
    assert "nope" in saved.error
    assert saved.content == ""


async def test_a_long_reply_is_written_a_handful_of_times_not_per_token(ollama):
    ollama.script_chat(["tok "] * 1000, token_delay=0.001)
    conversation, reply = await new_turn()
    writes: list[str] = []

    def count_writes(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("UPDATE", "INSERT")):
            writes.append(sql)
        return execute(sql, params, many, context)

    install = database_sync_to_async(lambda: connection.execute_wrappers.append(count_writes))
    remove = database_sync_to_async(lambda: connection.execute_wrappers.remove(count_writes))
    await install()
    try:
        await Generation(
            job_for(conversation, reply), timing=GenerationTiming(flush_interval=0.2)
        ).run()
    finally:
        await remove()

    saved = await stored(reply)
    assert saved.content == "tok " * 1000
    assert 1 <= len(writes) <= 15, writes


async def test_the_first_token_goes_out_at_once_not_after_the_coalescing_window(ollama):
    # Ollama sends one token and then nothing: with a 60 s window, the token can only reach the
    # group within the listener's deadline if the first frame is not held for the window.
    ollama.script_chat(["Q"] * 5, failure=Failure.hang(after_tokens=1))
    conversation, reply = await new_turn()
    generation = Generation(
        job_for(conversation, reply), timing=GenerationTiming(coalesce_window=60)
    )
    async with GroupListener(conversation.id) as listener:
        task = asyncio.create_task(generation.run())
        frames = await listener.until('beforeend">Q')
        await get_channel_layer().group_send(control_group(conversation.id), {"type": "chat.stop"})
        assert await task == Message.State.STOPPED

    [delta] = [f["html"] for f in frames if 'beforeend">Q' in f["html"]]
    assert delta.count("Q") == 1


async def test_tokens_arriving_together_share_frames(ollama):
    ollama.script_chat(["Q"] * 100)  # written at once: they arrive together
    conversation, reply = await new_turn()
    async with GroupListener(conversation.id) as listener:
        await Generation(
            job_for(conversation, reply), timing=GenerationTiming(coalesce_window=0.05)
        ).run()
        frames = await listener.until("tokens/s")

    deltas = [f["html"] for f in frames if 'beforeend">Q' in f["html"]]
    assert 1 <= len(deltas) < 50
    assert sum(d.count("Q") for d in deltas) == 100


async def test_a_socket_joining_mid_stream_gets_the_text_so_far_then_the_rest(ollama):
    ollama.script_chat([f"w{i} " for i in range(60)], token_delay=0.01)
    conversation, reply = await new_turn()
    layer = get_channel_layer()
    async with GroupListener(conversation.id) as listener:
        task = asyncio.create_task(Generation(job_for(conversation, reply)).run())
        await listener.until("w2 ")
        joiner = await layer.new_channel()
        await layer.group_send(
            control_group(conversation.id), {"type": "chat.sync", "reply_channel": joiner}
        )
        async with asyncio.timeout(10):
            synced = await layer.receive(joiner)
        await task

    assert synced["type"] == "chat.synced"
    assert "w0 w1 w2 " in synced["html"]  # the text so far, in one frame
    assert synced["seq"] >= 1


async def test_the_first_reply_gets_a_generated_title_sent_to_the_owners_sockets(ollama):
    ollama.script_generate("Why the sky is blue")
    conversation, reply = await new_turn(title="Why is the sky blue?")
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(user_group(conversation.owner_id), channel)
    job = job_for(conversation, reply, make_title=True, first_user_text="Why is the sky blue?")
    await Generation(job).run()
    async with asyncio.timeout(5):
        frame = await layer.receive(channel)

    assert (await Conversation.objects.aget(pk=conversation.pk)).title == "Why the sky is blue"
    assert "Why the sky is blue" in frame["html"]
    [title_request] = ollama.requests_to("/api/generate")
    assert title_request.body["options"]["num_predict"] == 24
    assert (await stored(reply)).state == Message.State.COMPLETE


async def test_a_failed_title_keeps_the_first_words(ollama):
    ollama.script_generate(failure=Failure.status(500, "boom"))
    conversation, reply = await new_turn(title="Why is the sky blue?")
    await Generation(job_for(conversation, reply, make_title=True)).run()
    assert (await Conversation.objects.aget(pk=conversation.pk)).title == "Why is the sky blue?"
    assert (await stored(reply)).state == Message.State.COMPLETE


async def test_a_rename_during_the_first_reply_is_not_overwritten_by_the_generated_title(ollama):
    ollama.script_generate("Generated title")
    conversation, reply = await new_turn(title="Why is the sky blue?")
    job = job_for(conversation, reply, make_title=True)
    await Conversation.objects.filter(pk=conversation.pk).aupdate(
        title="My own name", title_settled=True
    )
    await Generation(job).run()
    assert (await Conversation.objects.aget(pk=conversation.pk)).title == "My own name"


async def test_a_stopped_reply_asks_for_no_title(ollama):
    ollama.script_chat(["word "] * 500, token_delay=0.01)
    conversation, reply = await new_turn()
    generation = Generation(job_for(conversation, reply, make_title=True))
    running = asyncio.create_task(generation.run())
    await ollama.await_for(lambda s: s.tokens_sent() > 0)
    await get_channel_layer().group_send(control_group(conversation.id), {"type": "chat.stop"})

    assert await running == Message.State.STOPPED
    assert ollama.requests_to("/api/generate") == []
