"""chatsite.ollama.wire at the byte level, with no server: NDJSON split into lines, and Ollama's
JSON read into the typed results or into one readable error. The client's tests cover the same
paths against the stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chatsite.ollama import ChatChunk, ChatMessage, OllamaResponseError, OllamaStreamError, wire

HOST = "http://127.0.0.1:11434"


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def lines_of(*parts: bytes) -> list[bytes]:
    buffer = wire.NdjsonBuffer(chunks(*parts), host=HOST)
    lines = []
    while (line := await buffer.readline()) is not None:
        lines.append(line)
    return lines


async def test_lines_are_joined_across_chunks_and_blank_lines_are_skipped():
    parts = (b'{"a":1}\n\n{"b"', b":2}\n", b"  \n")
    assert await lines_of(*parts) == [b'{"a":1}', b'{"b":2}']


async def test_the_last_line_may_lack_its_newline():
    assert await lines_of(b'{"done":true}') == [b'{"done":true}']
    assert await lines_of() == []


async def test_a_line_past_the_limit_raises_before_its_newline_arrives():
    with pytest.raises(OllamaStreamError, match="longer than 8 MB"):
        await lines_of(b"x" * (wire.MAX_LINE_BYTES + 1), b"\n")


def test_an_error_line_ends_the_stream_with_ollamas_message():
    with pytest.raises(OllamaStreamError) as caught:
        wire.stream_object(b'{"error":"model runner crashed"}', host=HOST)
    assert (caught.value.status, caught.value.message) == (200, "model runner crashed")


@pytest.mark.parametrize("line", [b"[1]", b"nope", b"\xff"])
def test_a_stream_line_that_is_not_a_json_object_raises(line):
    with pytest.raises(OllamaStreamError, match="not valid JSON"):
        wire.stream_object(line, host=HOST)


def test_a_plain_reply_must_be_one_json_object():
    assert wire.reply_object(b'{"version":"0.33.0"}', host=HOST, status=200) == {
        "version": "0.33.0"
    }
    with pytest.raises(OllamaResponseError) as caught:
        wire.reply_object(b"[]", host=HOST, status=200)
    assert str(caught.value) == f"Ollama at {HOST} sent a reply that could not be read"


def test_a_field_of_the_wrong_type_becomes_one_readable_error():
    reply = {"models": [{"name": 3}]}
    with pytest.raises(OllamaResponseError) as caught:
        wire.parse(lambda: wire.installed_models(reply), host=HOST, streaming=False)
    assert str(caught.value) == (
        f"Ollama at {HOST} sent a reply that could not be read ('name' is not a string)"
    )
    with pytest.raises(OllamaStreamError, match="a reply line could not be read"):
        wire.parse(lambda: wire.chat_chunk({"done": "yes"}), host=HOST, streaming=True)


def test_only_the_done_chunk_carries_metrics():
    assert wire.chat_chunk({"message": {"content": "Hi"}, "done": False}) == ChatChunk(
        content="Hi", thinking="", done=False, done_reason=None, metrics=None
    )
    done = wire.chat_chunk(
        {"message": {}, "done": True, "done_reason": "stop", "eval_count": 3, "eval_duration": 1e9}
    )
    assert done.done_reason == "stop"
    assert done.metrics is not None
    assert (done.metrics.eval_count, done.metrics.eval_duration) == (3, 1_000_000_000)
    assert done.metrics.total_duration == 0


def test_a_message_carries_thinking_only_when_there_is_some():
    assert wire.message_payload(ChatMessage("user", "hi")) == {"role": "user", "content": "hi"}
    assert wire.message_payload(ChatMessage("assistant", "4", "2+2")) == {
        "role": "assistant",
        "content": "4",
        "thinking": "2+2",
    }


def test_a_message_carries_images_only_when_there_are_some():
    message = ChatMessage("user", "look", images=("aGk=", "eW8="))
    assert wire.message_payload(message) == {
        "role": "user",
        "content": "look",
        "images": ["aGk=", "eW8="],
    }
    assert "images" not in wire.message_payload(ChatMessage("user", "plain"))
