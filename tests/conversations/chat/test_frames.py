"""Frames and message contexts: what pages and sockets are sent, and where the rendering runs."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils.safestring import mark_safe

from conversations.chat.frames import (
    delta,
    message_contexts,
    message_replaced_off_loop,
    title_changed,
)
from conversations.chat.rendering import StreamUpdate
from conversations.models import Message
from tests.factories import make_conversation, make_message, make_user

pytestmark = [pytest.mark.django_db(transaction=True)]

PROSE = "Some *text* with **bold** and a [link](https://example.com).\n\n" * 2_000


@database_sync_to_async
def long_replies(count: int) -> list[Message]:
    conversation = make_conversation(make_user("alice"))
    return [
        make_message(conversation, role=Message.Role.ASSISTANT, content=PROSE) for _ in range(count)
    ]


async def loop_turns_while(task: asyncio.Task) -> int:
    """How many times other coroutines got the event loop before `task` finished."""
    await asyncio.sleep(0)  # the task takes its first step (a blocking render would finish here)
    turns = 0
    while not task.done():
        turns += 1
        await asyncio.sleep(0)
    return turns


async def test_a_pages_markdown_renders_while_the_event_loop_serves_others():
    replies = await long_replies(3)
    rendering = asyncio.create_task(message_contexts(replies))
    assert await loop_turns_while(rendering) > 10
    contexts = await rendering
    assert [c["message"].pk for c in contexts] == [r.pk for r in replies]
    assert "<strong>bold</strong>" in contexts[0]["blocks_html"]


async def test_a_socket_catch_up_renders_while_the_event_loop_serves_others():
    [reply] = await long_replies(1)
    rendering = asyncio.create_task(message_replaced_off_loop(reply))
    assert await loop_turns_while(rendering) > 10
    assert f'id="message-{reply.id}"' in await rendering


async def test_a_streaming_reply_keeps_its_unfinished_block_as_text():
    conversation = await database_sync_to_async(make_conversation)(
        await database_sync_to_async(make_user)("alice")
    )
    reply = await database_sync_to_async(make_message)(
        conversation,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        content="Done **here**.\n\nStill *typ",
    )
    [context] = await message_contexts([reply])
    assert "<strong>here</strong>" in context["blocks_html"]
    assert context["tail"] == "Still *typ"


def test_a_new_title_updates_the_sidebar_the_header_and_the_tab_title_escaped():
    conversation_id = uuid.uuid4()
    html = title_changed(conversation_id, "<b>Sky</b> & sea")

    assert (
        f'<a id="conversation-link-{conversation_id}" hx-swap-oob="innerHTML">'
        '<span title="&lt;b&gt;Sky&lt;/b&gt; &amp; sea">&lt;b&gt;Sky&lt;/b&gt; &amp; sea</span></a>'
    ) in html
    assert (
        f'<span id="conversation-title-{conversation_id}" title="&lt;b&gt;Sky&lt;/b&gt; &amp; sea" '
        'data-page-title="&lt;b&gt;Sky&lt;/b&gt; &amp; sea · chatsite" hx-swap-oob="outerHTML">'
    ) in html


def test_a_delta_appends_new_blocks_and_text_to_the_tail_escaped():
    message_id = uuid.uuid4()
    update = StreamUpdate(
        new_blocks_html=mark_safe("<p>done</p>"), tail="", tail_replaced=False, appended_text="<b>"
    )
    html = delta(message_id, update, "")
    assert html == (
        f'<div id="message-{message_id}-blocks" hx-swap-oob="beforeend"><p>done</p></div>'
        f'<div id="message-{message_id}-tail" hx-swap-oob="beforeend">&lt;b&gt;</div>'
    )


def test_a_delta_that_replaces_the_tail_sends_it_whole_even_when_empty():
    message_id = uuid.uuid4()
    update = StreamUpdate(
        new_blocks_html=mark_safe(""), tail="", tail_replaced=True, appended_text=""
    )
    assert delta(message_id, update, "") == (
        f'<div id="message-{message_id}-tail" hx-swap-oob="innerHTML"></div>'
    )


def test_a_delta_of_thinking_alone_appends_to_the_thinking_escaped():
    message_id = uuid.uuid4()
    assert delta(message_id, None, "a < b & c") == (
        f'<div id="message-{message_id}-thinking" hx-swap-oob="beforeend">a &lt; b &amp; c</div>'
    )
