"""Reading usage off answers as they pass: Ollama's last NDJSON line, the OpenAI-style usage
event (hidden when the gateway asked for it), and whole answers small and large."""

from __future__ import annotations

import json

from chatsite.gateway.meter import WHOLE_ANSWER_BYTES, Meter, NdjsonMeter, SseMeter


def test_the_last_ndjson_line_gives_the_counts_however_the_chunks_fall():
    lines = [
        b'{"message":{"content":"a"},"done":false}\n',
        b'{"message":{"content":"eval_count\\":9"},"done":false}\n',
        b'{"done":true,"prompt_eval_count":12,"eval_count":34}\n',
    ]
    data = b"".join(lines)
    for size in (1, 7, 40, len(data)):
        meter = NdjsonMeter()
        passed = b"".join(meter.feed(data[i : i + size]) for i in range(0, len(data), size))
        usage = meter.result()
        assert passed == data
        assert (usage.prompt_tokens, usage.output_tokens, usage.error) == (12, 34, "")


def test_an_error_line_mid_stream_is_the_outcome():
    meter = NdjsonMeter()
    meter.feed(b'{"message":{"content":"Once"},"done":false}\n{"error":"runner died"}\n')

    assert meter.result().error == "runner died"


def test_a_usage_event_the_gateway_asked_for_is_read_and_not_passed_on():
    events = [
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n',
        b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\n',
        b"data: [DONE]\n\n",
    ]
    hidden, shown = SseMeter(hide_usage=True), SseMeter(hide_usage=False)
    data = b"".join(events)

    passed_hidden = b"".join(hidden.feed(data[i : i + 10]) for i in range(0, len(data), 10))
    passed_hidden += hidden.flush()
    passed_shown = b"".join(shown.feed(event) for event in events)
    passed_shown += shown.flush()

    assert passed_hidden == events[0] + events[2]
    assert passed_shown == data
    assert (hidden.result().prompt_tokens, hidden.result().output_tokens) == (5, 2)


def test_done_is_held_until_the_stream_is_flushed():
    # Clients stop at [DONE]: it leaves only after the gateway has stored the usage.
    meter = SseMeter(hide_usage=False)
    first = meter.feed(b'data: {"choices":[{"text":"x"}]}\n\ndata: [DONE]\n\n')
    alone = SseMeter(hide_usage=False)

    assert first == b'data: {"choices":[{"text":"x"}]}\n\n'
    assert meter.flush() == b"data: [DONE]\n\n"
    assert alone.feed(b"data: [DONE]\n\n") == b""
    assert alone.flush() == b"data: [DONE]\n\n"
    assert meter.flush() == b""


def test_a_whole_answer_is_parsed_and_a_huge_one_read_from_its_end():
    small, large = Meter(), Meter()
    small.feed(b'{"error":{"message":"model \\"x\\" not found","type":"not_found_error"}}')
    vectors = [[0.125] * 1024 for _ in range(WHOLE_ANSWER_BYTES // 4096)]
    body = json.dumps({"embeddings": vectors, "prompt_eval_count": 77}).encode()
    for start in range(0, len(body), 65536):
        large.feed(body[start : start + 65536])

    assert small.result().error == 'model "x" not found'
    assert large.result().prompt_tokens == 77
    assert len(b"".join(large._parts)) <= 65536 + 4096
