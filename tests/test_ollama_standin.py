"""Wire-fidelity tests of the Ollama stand-in itself, with raw httpx and raw sockets, so that
the client's contract tests run against something that really behaves like Ollama."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time

import httpx
import pytest

from tests.ollama_standin import UNKNOWN_MANIFEST, Failure, running_standin

CREATED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


def raw_request(body: dict, path: str = "/api/chat") -> bytes:
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


def test_a_stream_is_chunked_ndjson_one_object_per_line(http):
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    with http.stream("POST", "/api/chat", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.headers["transfer-encoding"] == "chunked"
        raw = response.read()
    assert raw.endswith(b"}\n")
    lines = [json.loads(line) for line in raw.decode().splitlines()]
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    first, last = lines[0], lines[-1]
    assert list(first) == ["model", "created_at", "message", "done"]
    assert first["model"] == "llama3.2"  # echoed as sent, not normalised
    assert CREATED_AT.fullmatch(first["created_at"])
    assert last["message"] == {"role": "assistant", "content": ""}
    assert last["done_reason"] == "stop"
    assert last["eval_count"] == len(lines) - 1


def test_single_object_replies_are_compact_json_without_a_trailing_newline(http):
    response = http.get("/api/version")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.content == b'{"version":"0.33.0"}'
    load = http.post("/api/chat", json={"model": "llama3.2", "messages": []})
    assert load.headers["content-type"] == "application/json; charset=utf-8"
    assert not load.content.endswith(b"\n")
    assert load.json()["done_reason"] == "load"


def test_strings_are_escaped_like_go(standin, http):
    standin.script_chat(["<think>", " a & b"])
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    raw = http.post("/api/chat", json=body).content
    assert b"\\u003cthink\\u003e" in raw
    assert b"a \\u0026 b" in raw
    assert b"<" not in raw and b"&" not in raw


def test_router_errors_are_plain_text_like_gin(http):
    missing = http.get("/api/nothing")
    assert (missing.status_code, missing.text) == (404, "404 page not found")
    assert missing.headers["content-type"] == "text/plain"
    wrong = http.get("/api/chat")
    assert (wrong.status_code, wrong.text) == (405, "405 method not allowed")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "missing request body"),
        (b'{"model":', "unexpected EOF"),
        (b"xyz", "invalid character 'x' looking for beginning of value"),
        (b"null", "model is required"),
    ],
)
def test_bad_bodies_get_400_with_gos_message(http, content, message):
    response = http.post("/api/chat", content=content)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_a_failure_before_the_first_byte_uses_plain_application_json(standin, http):
    standin.script_chat(failure=Failure.error_mid_stream(after_tokens=0))
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    response = http.post("/api/chat", json=body)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.content == (
        b'{"error":"an error was encountered while running the model: unexpected EOF"}'
    )


def test_an_error_mid_stream_is_one_error_line_and_no_done_line(standin, http):
    standin.script_chat("Once upon a time", failure=Failure.error_mid_stream(after_tokens=2))
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    lines = http.post("/api/chat", json=body).text.splitlines()
    assert len(lines) == 3
    assert json.loads(lines[-1]) == {
        "error": "an error was encountered while running the model: unexpected EOF"
    }


def test_generate_streams_response_deltas_and_ends_with_context(standin, http):
    standin.script_generate("Sky colour")
    body = {"model": "llama3.2", "prompt": "Title this"}
    lines = [json.loads(line) for line in http.post("/api/generate", json=body).text.splitlines()]
    assert [line["response"] for line in lines] == ["Sky", " colour", ""]
    assert lines[-1]["done"] and lines[-1]["context"]
    assert "message" not in lines[0]


def test_thinking_is_on_by_default_for_thinking_models_and_refused_for_others(standin, http):
    standin.add_model("qwen3:8b", capabilities=("completion", "thinking"))
    standin.script_chat("4", thinking="Easy.")
    ask = {"messages": [{"role": "user", "content": "2+2?"}]}
    lines = http.post("/api/chat", json={"model": "qwen3:8b", **ask}).text.splitlines()
    assert json.loads(lines[0])["message"] == {
        "role": "assistant",
        "content": "",
        "thinking": "Easy.",
    }
    refused = http.post("/api/chat", json={"model": "llama3.2", "think": True, **ask})
    assert refused.status_code == 400
    assert refused.json() == {"error": '"llama3.2" does not support thinking'}


def test_model_names_are_normalised_and_matched_case_insensitively(standin, http):
    standin.add_model("MyNS/Coder")
    names = [model["name"] for model in http.get("/api/tags").json()["models"]]
    assert set(names) == {"llama3.2:latest", "MyNS/Coder:latest"}
    shown = http.post("/api/show", json={"model": "myns/coder:latest"})
    assert shown.status_code == 200
    missing = http.post("/api/show", json={"model": "nope"})
    assert missing.json() == {"error": "model 'nope:latest' not found"}


def test_pull_without_streaming_returns_the_last_object_or_a_500(standin, http):
    ok = http.post("/api/pull", json={"model": "tiny", "stream": False})
    assert (ok.status_code, ok.json()) == (200, {"status": "success"})
    standin.script_pull(unknown=True)
    failed = http.post("/api/pull", json={"model": "nope", "stream": False})
    assert failed.status_code == 500
    assert failed.json() == {"error": UNKNOWN_MANIFEST}


def test_delete_answers_200_with_an_empty_body(http):
    response = http.request("DELETE", "/api/delete", json={"model": "llama3.2"})
    assert (response.status_code, response.content) == (200, b"")
    assert http.get("/api/tags").json() == {"models": []}


def test_a_connection_serves_several_requests(standin):
    with socket.create_connection(("127.0.0.1", int(standin.url.rpartition(":")[2]))) as sock:
        sock.sendall(b"GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
        received = b""
        while received.count(b'{"version":"0.33.0"}') < 2:
            received += sock.recv(65536)
    assert received.count(b"HTTP/1.1 200 OK") == 2


def test_the_server_notices_a_client_that_hangs_up_mid_stream(standin):
    standin.script_chat(["tok"] * 500, token_delay=0.01)
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    with socket.create_connection(("127.0.0.1", int(standin.url.rpartition(":")[2]))) as sock:
        sock.sendall(raw_request(body))
        standin.wait_for(lambda s: s.tokens_sent() >= 2)
    standin.wait_for(lambda s: s.requests_to("/api/chat")[0].ended, timeout=1)
    [request] = standin.requests_to("/api/chat")
    assert request.client_disconnected and not request.finished
    assert request.tokens < 500


def test_stopping_the_server_ends_a_hanging_stream_promptly():
    with running_standin() as standin:
        standin.add_model("llama3.2")
        standin.script_chat(failure=Failure.hang(after_tokens=1))
        body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
        sock = socket.create_connection(("127.0.0.1", int(standin.url.rpartition(":")[2])))
        with sock:
            sock.sendall(raw_request(body))
            standin.wait_for(lambda s: s.tokens_sent() == 1)
            started = time.monotonic()
            standin.stop()
            assert time.monotonic() - started < 2
            sock.settimeout(2)
            with contextlib.suppress(ConnectionResetError):
                while sock.recv(65536):  # the server closed its end: EOF (or a reset)
                    pass


def test_wait_for_explains_what_it_waited_for(standin):
    with pytest.raises(AssertionError, match="tokens_sent"):
        standin.wait_for(lambda s: s.tokens_sent() > 0, timeout=0.05)


def test_the_server_serves_other_threads_while_one_waits(standin):
    results: list[int] = []

    def fetch() -> None:
        with httpx.Client(trust_env=False) as client:
            results.append(client.get(f"{standin.url}/api/tags").status_code)

    thread = threading.Thread(target=fetch)
    thread.start()
    standin.wait_for(lambda s: bool(s.requests_to("/api/tags")) and s.requests[0].ended)
    thread.join()
    assert results == [200]
