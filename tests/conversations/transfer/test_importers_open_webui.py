"""Reading hostile and broken exports: every step is linear in the file's size, a foreign value
of the wrong type or out of range is ignored, chatsite's own format refuses one in a sentence,
and what comes out can be stored. Open WebUI 0.12's `output` items carry the thinking.

The large inputs here would keep the old code busy for minutes to hours (a backtracking regular
expression, repeated string concatenation); pytest-timeout is the backstop, nothing is timed.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from conversations.transfer.importers import (
    MAX_TOKENS,
    ImportRejected,
    ParsedFile,
    read_upload,
    split_reasoning,
)

FIXTURES = Path(__file__).parent / "fixtures"
RAW = "__raw_json__"  # replaced by a literal the json module writes no other way (1e400, ...)
MEGABYTE = 1024 * 1024


def read(document, *, raw: str | None = None, max_message_chars: int = 100_000) -> ParsedFile:
    text = json.dumps(document)
    if raw is not None:
        text = text.replace(json.dumps(RAW), raw)
    return read_upload(text.encode(), max_bytes=100 * MEGABYTE, max_message_chars=max_message_chars)


def open_webui_chat(*messages: dict, **chat_fields) -> list[dict]:
    """One Open WebUI chat whose shown branch is the given messages, in order."""
    nodes = {}
    for number, message in enumerate(messages):
        node_id = f"m{number}"
        nodes[node_id] = {"id": node_id, "parentId": f"m{number - 1}" if number else None}
        nodes[node_id].update(message)
    history = {"messages": nodes, "currentId": f"m{len(messages) - 1}"}
    return [{"title": "Chat", "chat": {"history": history, "models": ["qwen3:8b"]}, **chat_fields}]


def assistant(content: str = "", **fields) -> dict:
    return {"role": "assistant", "content": content, "model": "qwen3:8b", **fields}


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


def chatsite_file(**message_fields) -> dict:
    message = {"role": "assistant", "content": "Hi", **message_fields}
    conversation = {"title": "Trip", "messages": [message]}
    return {"format": "chatsite", "version": 1, "conversations": [conversation]}


# Open WebUI's <details type="reasoning"> blocks, read in linear time -------------------------


@pytest.mark.parametrize(
    "content",
    [
        # The attack as sent, at two megabytes: the old expression backtracked over every space.
        '<details type="reasoning">' + " " * (2 * MEGABYTE) + "x",
        '<details type="reasoning"><summary>' + " " * (2 * MEGABYTE) + "x",
        '<details type="reasoning"' + "a" * (2 * MEGABYTE),
        '   <details type="reasoning">\n' + "> thinking\n" * (200 * 1024),
    ],
    ids=["unclosed-spaces", "unclosed-summary", "unfinished-tag", "unclosed-lines"],
)
def test_an_unclosed_reasoning_block_of_megabytes_stays_the_reply_text(content):
    thinking, answer = split_reasoning(content)

    assert (thinking, answer) == ("", content)


def test_an_adversarial_reasoning_block_in_an_open_webui_file_is_read_and_cut():
    content = '<details type="reasoning">' + " " * (2 * MEGABYTE) + "x"

    parsed = read(open_webui_chat({"role": "user", "content": "Hi"}, assistant(content)))

    reply = parsed.conversations[0].messages[1]
    assert reply.thinking == ""
    assert reply.content.startswith('<details type="reasoning">')
    assert reply.content.endswith("[… cut at 100,000 characters on import]")
    assert len(reply.content) == 100_000
    assert parsed.cut_messages == 1


def test_thousands_of_reasoning_blocks_are_all_read():
    blocks = [f'<details type="reasoning">\n> step {n}\n</details>\n' for n in range(90_000)]

    thinking, answer = split_reasoning("".join(blocks) + "Done.")

    assert answer == "Done."
    assert thinking.split("\n\n") == [f"step {n}" for n in range(90_000)]


@pytest.mark.parametrize(
    ("content", "thinking", "answer"),
    [
        (
            '<details type="reasoning" done="true" duration="2">\n<summary>Thought for 2 '
            "seconds</summary>\n> First line.\n> Second line.\n</details>\nThe answer.",
            "First line.\nSecond line.",
            "The answer.",
        ),
        ('  <details type="reasoning">\n> Only.\n</details>\n\nA', "Only.", "A"),
        ("No thinking here.", "", "No thinking here."),
    ],
    ids=["summary-and-quotes", "leading-space", "none"],
)  # fmt: skip
def test_reasoning_blocks_at_the_start_of_a_reply_become_its_thinking(content, thinking, answer):
    assert split_reasoning(content) == (thinking, answer)


@pytest.mark.parametrize(
    "content",
    [
        'Text first <details type="reasoning">> x</details>',
        '<details type="tool_calls">x</details>',
    ],
    ids=["not-at-the-start", "tool-calls"],
)
def test_other_details_blocks_stay_in_the_reply(content):
    assert split_reasoning(content) == ("", content)


# Open WebUI 0.12: thinking and answer in the message's `output` items -------------------------


def output_reply(*items: dict, content: str = "") -> dict:
    return assistant(content, output=list(items))


def reasoning_item(text: str, **fields) -> dict:
    content = [{"type": "output_text", "text": text}]
    return {"type": "reasoning", "content": content, "duration": 3, **fields}


def message_item(text: str) -> dict:
    return {"type": "message", "content": [{"type": "output_text", "text": text}]}


def test_open_webui_output_items_give_the_thinking_and_the_answer():
    reply = output_reply(
        reasoning_item("Think first."),
        {"type": "function_call", "name": "search", "arguments": "{}"},
        {"type": "function_call_output", "output": "3 results"},
        message_item("```python\nprint('<hi> & bye')\n```"),
    )

    message = read(open_webui_chat(reply)).conversations[0].messages[0]

    assert message.thinking == "Think first."
    assert message.content == "```python\nprint('<hi> & bye')\n```"


def test_a_reply_with_content_keeps_it_and_takes_the_thinking_from_its_output():
    reply = output_reply(reasoning_item("Hmm."), message_item("Answer."), content="Answer.")

    message = read(open_webui_chat(reply)).conversations[0].messages[0]

    assert (message.thinking, message.content) == ("Hmm.", "Answer.")


def test_a_reasoning_summary_is_the_thinking_when_there_is_no_reasoning_text():
    summary = [{"type": "summary_text", "text": "In short."}]
    reply = output_reply(reasoning_item("", summary=summary), message_item("A."))

    message = read(open_webui_chat(reply)).conversations[0].messages[0]

    assert message.thinking == "In short."


@pytest.mark.parametrize(
    "output",
    [5, "text", None, {"type": "reasoning"}, [5, None, "x", {"type": "reasoning", "content": 7}],
     [{"type": "message", "content": [5, {"text": 7}, {"type": "output_text"}]}]],
    ids=["number", "text", "null", "object", "odd-items", "odd-parts"],
)  # fmt: skip
def test_an_output_of_the_wrong_shape_is_ignored(output):
    message = read(open_webui_chat(assistant("Kept.", output=output))).conversations[0].messages[0]

    assert (message.thinking, message.content) == ("", "Kept.")


def test_openai_style_usage_gives_the_token_counts():
    usage = {"prompt_tokens": 40, "completion_tokens": 210, "total_tokens": 250}

    message = read(open_webui_chat(assistant("A", usage=usage))).conversations[0].messages[0]

    assert (message.prompt_eval_count, message.eval_count) == (40, 210)


# Numbers and times that are no numbers or times --------------------------------------------

NO_TIMES = [
    "Infinity", "-Infinity", "NaN", "1e20", "-1e20", "1e19", "1e400", "1" + "0" * 5000, "-5",
    "0", '"yesterday"', '"1718000000"', "true", "[]", "{}",
]  # fmt: skip


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


@pytest.mark.parametrize("value", NO_TIMES)
def test_an_open_webui_time_that_is_no_time_is_ignored(value):
    chat = open_webui_chat(
        {"role": "user", "content": "Hello", "timestamp": RAW}, created_at=RAW, updated_at=RAW
    )
    chat[0]["chat"]["timestamp"] = RAW

    conversation = read(chat, raw=value).conversations[0]

    assert conversation.created_at is None and conversation.messages[0].created_at is None


def test_times_in_milliseconds_and_nanoseconds_are_read():
    chat = open_webui_chat(
        {"role": "user", "content": "A", "timestamp": 1718000000123},
        assistant("B", timestamp=1718000005000000000),
    )

    first, second = read(chat).conversations[0].messages

    assert first.created_at.timestamp() == pytest.approx(1718000000.123)
    assert second.created_at.timestamp() == 1718000005


NO_COUNTS = [
    "Infinity", "NaN", "1e20", "-1e20", "-1", "1" + "0" * 5000, str(2**64), '"5"', "true",
    "[]", "{}", "[[[[[[[[[[1]]]]]]]]]]",
]  # fmt: skip


@pytest.mark.parametrize("value", NO_COUNTS)
def test_an_open_webui_count_that_is_no_count_is_ignored(value):
    info = {"prompt_eval_count": RAW, "eval_count": RAW, "eval_duration": RAW}
    chat = open_webui_chat(assistant("A", info=info, usage={"total_duration": RAW}))

    message = read(chat, raw=value).conversations[0].messages[0]

    counts = (message.prompt_eval_count, message.eval_count, message.eval_duration_ns)
    assert counts == (None, None, None) and message.total_duration_ns is None


@pytest.mark.parametrize("value", ["Infinity", "NaN", "1e400", "[1]", '{"a": 1}', "true", '"x"'])
def test_an_open_webui_option_that_is_no_number_is_left_out(value):
    chat = open_webui_chat({"role": "user", "content": "A"})
    chat[0]["chat"]["params"] = {"temperature": RAW, "num_ctx": RAW, "top_p": 0.5}

    conversation = read(chat, raw=value).conversations[0]

    assert conversation.options == {"top_p": 0.5}


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


# chatsite's own format refuses a bad value in a sentence ------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [("1e20", "1e+20"), ("-1e20", "-1e+20"), ("-1", "-1"), (str(2**40), str(2**40)),
     ('"5"', '"5"'), ("true", "true/false"), ("[]", "a list")],
)  # fmt: skip
def test_a_chatsite_count_out_of_range_is_refused_in_a_sentence(value, shown):
    with pytest.raises(ImportRejected) as refused:
        read(chatsite_file(eval_count=RAW), raw=value)

    assert str(refused.value) == (
        'Chat 1 ("Trip"), message 1: "eval_count" must be a whole number from 0 to '
        f"{MAX_TOKENS:,} or null, not {shown}."
    )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1" + "0" * 5000])
def test_a_chatsite_count_that_is_no_number_reads_as_null(value):
    message = read(chatsite_file(eval_count=RAW), raw=value).conversations[0].messages[0]

    assert message.eval_count is None


@pytest.mark.parametrize(
    "value",
    ["2025-02-30T10:00:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
     "2025-01-01T00:00:00" + " " * 100_000 + "x", "yesterday", 1718000000],
    ids=["no-such-day", "past-9999-in-utc", "before-year-1-in-utc", "long", "words", "number"],
)  # fmt: skip
def test_a_chatsite_time_that_is_no_time_is_refused_in_a_sentence(value):
    with pytest.raises(ImportRejected, match='"created_at" must be a date and time'):
        read(chatsite_file(created_at=value))


def test_a_chatsite_time_with_an_offset_is_read_as_the_same_moment_in_utc():
    message = read(chatsite_file(created_at="2025-03-01T10:30:00+01:00")).conversations[0]

    assert message.messages[0].created_at.isoformat() == "2025-03-01T09:30:00+00:00"


def test_a_long_value_is_shown_short_in_the_refusal():
    with pytest.raises(ImportRejected) as refused:
        read(chatsite_file(role="x" * MEGABYTE))

    assert len(str(refused.value)) < 200


def test_a_nested_message_options_object_is_left_out():
    nested = {"temperature": [[[[0.5]]]], "num_ctx": 4096, "extra": {"a": [1, 2]}}

    message = read(chatsite_file(options=nested)).conversations[0].messages[0]

    assert message.options == {"num_ctx": 4096}


# What comes out can be stored and shown ----------------------------------------------------


def test_a_long_message_is_cut_with_a_note_and_counted():
    parsed = read(chatsite_file(content="a" * 150, thinking="b" * 90), max_message_chars=100)

    message = parsed.conversations[0].messages[0]
    note = "\n\n[… cut at 100 characters on import]"
    assert message.content == "a" * (100 - len(note)) + note
    assert message.thinking == "b" * 90
    assert parsed.cut_messages == 1


def test_a_long_system_prompt_is_cut_to_what_the_settings_form_accepts():
    document = chatsite_file()
    document["conversations"][0]["system_prompt"] = "s" * 50_000

    conversation = read(document).conversations[0]

    assert len(conversation.system_prompt) == 20_000
    assert conversation.system_prompt.endswith("[… cut at 20,000 characters on import]")


def test_nul_characters_and_lone_surrogates_become_storable_text():
    parsed = read(chatsite_file(content="a\x00b \ud800 c", thinking="\udfff"))

    message = parsed.conversations[0].messages[0]
    assert (message.content, message.thinking) == ("ab \ufffd c", "\ufffd")


def test_a_damaged_zip_member_is_refused_in_a_sentence():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("conversations.json", (FIXTURES / "chatgpt_conversations.json").read_bytes())
    data = bytearray(archive.getvalue())
    data[60:90] = bytes(30)  # inside the compressed data, after the local header

    with pytest.raises(ImportRejected, match='"conversations.json" in the zip archive cannot be'):
        read_upload(bytes(data), max_bytes=MEGABYTE, max_message_chars=100_000)
