"""Open WebUI's exports read without the database: <details type="reasoning"> blocks split in
linear time, 0.12's `output` items, and counts, times and options of the wrong type ignored.

The large inputs here would keep the old code busy for minutes to hours (a backtracking regular
expression); pytest-timeout is the backstop, nothing is timed.
"""

from __future__ import annotations

import pytest

from conversations.transfer.importers.open_webui import split_reasoning
from tests.conversations.transfer.files import MEGABYTE, NO_TIMES, RAW, read


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
