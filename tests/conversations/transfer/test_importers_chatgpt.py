"""ChatGPT's conversations.json read without the database: times that are no times ignored,
"thoughts" of the wrong type ignored or kept as the next answer's thinking, and a long run of
answer parts joined once (adding each to the text so far was quadratic).
"""

from __future__ import annotations

import pytest

from tests.conversations.transfer.files import MEGABYTE, NO_TIMES, RAW, read


def chatgpt_chat(*nodes: dict, **fields) -> list[dict]:
    """One ChatGPT conversation: the given messages in a chain, the last one current."""
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": ["n0"]}}
    for number, message in enumerate(nodes):
        parent = f"n{number - 1}" if number else "root"
        mapping[f"n{number}"] = {"id": f"n{number}", "message": message, "parent": parent}
    chat = {"title": "Chat", "mapping": mapping, "current_node": f"n{len(nodes) - 1}"}
    return [{**chat, **fields}]


def chatgpt_message(role: str, text: str, **fields) -> dict:
    content = {"content_type": "text", "parts": [text]}
    return {"author": {"role": role}, "content": content, **fields}


def chatgpt_thoughts(thoughts) -> dict:
    content = {"content_type": "thoughts", "thoughts": thoughts}
    return {"author": {"role": "assistant"}, "content": content}


@pytest.mark.parametrize("value", NO_TIMES)
def test_a_chatgpt_time_that_is_no_time_is_ignored(value):
    chat = chatgpt_chat(
        chatgpt_message("user", "Hello", create_time=RAW),
        chatgpt_message("assistant", "Hi", create_time=RAW),
        create_time=RAW,
        update_time=RAW,
    )

    conversation = read(chat, raw=value).conversations[0]

    assert conversation.created_at is None and conversation.updated_at is None
    assert [m.created_at for m in conversation.messages] == [None, None]
    assert [m.content for m in conversation.messages] == ["Hello", "Hi"]


@pytest.mark.parametrize(
    "thoughts",
    [5, "text", None, {"content": "x"}, [5, None, "x", {"content": 7}, {"content": ["x"]}]],
    ids=["number", "text", "null", "object", "odd-items"],
)
def test_chatgpt_thoughts_of_the_wrong_type_are_ignored(thoughts):
    chat = chatgpt_chat(
        chatgpt_message("user", "Is 91 prime?"),
        chatgpt_thoughts(thoughts),
        chatgpt_message("assistant", "No: 7 × 13."),
    )

    user, reply = read(chat).conversations[0].messages

    assert (reply.content, reply.thinking) == ("No: 7 × 13.", "")


def test_chatgpt_thoughts_are_the_thinking_of_the_next_answer():
    thoughts = [{"summary": "Divisors", "content": "Try 7."}, {"content": 5}]
    chat = chatgpt_chat(
        chatgpt_message("user", "Is 91 prime?"),
        chatgpt_thoughts(thoughts),
        chatgpt_message("assistant", "No: 7 × 13."),
    )

    reply = read(chat).conversations[0].messages[1]

    assert reply.thinking == "Try 7."


def test_a_long_run_of_chatgpt_answer_parts_is_joined_once():
    # ChatGPT splits one answer around tool use; 100,000 parts were joined by adding each to the
    # text so far, copying megabytes per part.
    parts = [f"part {n} " + "word " * 8 for n in range(100_000)]
    chat = chatgpt_chat(
        chatgpt_message("user", "Go"), *(chatgpt_message("assistant", p) for p in parts)
    )

    messages = read(chat, max_message_chars=10 * MEGABYTE).conversations[0].messages

    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].content == "\n\n".join(parts)
