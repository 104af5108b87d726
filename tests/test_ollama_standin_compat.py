"""The stand-in's embedding and OpenAI-compatible routes answer as Ollama does (wire doc 1.12,
1.13): shapes, defaults and errors."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator

import httpx
import pytest

from tests.ollama_standin import OllamaStandin, running_standin


@pytest.fixture
def standin() -> Iterator[OllamaStandin]:
    with running_standin() as server:
        server.add_model("llama3.2:latest")
        server.add_model("nomic-embed-text:latest", capabilities=("embedding",))
        yield server


def test_embed_answers_normalised_vectors_and_counts_tokens(standin: OllamaStandin):
    answer = httpx.post(
        standin.url + "/api/embed",
        json={"model": "nomic-embed-text", "input": ["one two", "three"]},
        trust_env=False,
    )

    reply = answer.json()
    assert reply["model"] == "nomic-embed-text"
    assert reply["prompt_eval_count"] == 3
    assert [round(sum(x * x for x in v), 6) for v in reply["embeddings"]] == [1.0, 1.0]


def test_embed_errors_are_ollamas(standin: OllamaStandin):
    def post(path: str, body: dict) -> httpx.Response:
        return httpx.post(standin.url + path, json=body, trust_env=False)

    assert post("/api/embed", {"model": "nope", "input": "x"}).json() == {
        "error": 'model "nope" not found, try pulling it first'
    }
    assert post("/api/embed", {"model": "nomic-embed-text", "input": 3}).json() == {
        "error": "invalid input type"
    }
    assert post("/api/embed", {"input": "x"}).status_code == 404
    assert post("/api/embeddings", {"prompt": "x"}).json() == {"error": "model is required"}
    empty = post("/api/embeddings", {"model": "nomic-embed-text"}).json()
    assert empty == {"embedding": []}


def test_a_streamed_chat_completion_is_sse_with_finish_usage_and_done(standin: OllamaStandin):
    standin.script_chat(["Hi", " there"])
    body = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hello"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    with httpx.stream("POST", standin.url + "/v1/chat/completions", json=body) as answer:
        events = [line for line in answer.iter_lines() if line]
        content_type = answer.headers["content-type"]

    assert content_type == "text/event-stream"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert events[-1] == "data: [DONE]"
    assert [c["choices"][0]["delta"].get("content") for c in chunks[:2]] == ["Hi", " there"]
    assert chunks[2]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert chunks[3]["choices"] == [] and chunks[3]["usage"]["completion_tokens"] == 2
    assert {c["system_fingerprint"] for c in chunks} == {"fp_ollama"}


def test_chat_completions_errors_and_defaults(standin: OllamaStandin):
    url = standin.url + "/v1/chat/completions"
    empty = httpx.post(url, json={"model": "llama3.2", "messages": []}, trust_env=False)
    missing = httpx.post(
        url, json={"model": "x", "messages": [{"role": "user", "content": "a"}]}, trust_env=False
    )
    whole = httpx.post(
        url,
        json={"model": "llama3.2", "messages": [{"role": "user", "content": "a"}]},
        trust_env=False,
    )

    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == "[] is too short - 'messages'"
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "message": "model 'x' not found",
        "type": "not_found_error",
        "param": None,
        "code": None,
    }
    assert whole.json()["object"] == "chat.completion"  # stream defaults to false here


def test_text_completions_in_ollamas_shapes(standin: OllamaStandin):
    standin.script_generate(["x", " =", " 1"], once=True)
    standin.script_generate("y", once=True)
    url = standin.url + "/v1/completions"
    body = {"model": "llama3.2", "prompt": "a", "stream": True}
    with httpx.stream("POST", url, json=body, trust_env=False) as answer:
        events = [line for line in answer.iter_lines() if line]
    whole = httpx.post(url, json={"model": "llama3.2", "prompt": "a"}, trust_env=False).json()
    listed = httpx.post(url, json={"model": "llama3.2", "prompt": ["a"]}, trust_env=False)

    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert events[-1] == "data: [DONE]"
    assert {c["object"] for c in chunks} == {"text_completion"}
    assert [c["choices"][0]["text"] for c in chunks] == ["x", " =", " 1", ""]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert whole["id"].startswith("cmpl-") and whole["object"] == "text_completion"
    assert whole["choices"] == [{"text": "y", "index": 0, "finish_reason": "stop"}]
    assert whole["usage"] == {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    assert listed.status_code == 400
    assert listed.json()["error"]["message"] == (
        "json: cannot unmarshal array into Go struct field CompletionRequest.prompt of type string"
    )


def test_embeddings_in_base64_and_models_null_when_empty(standin: OllamaStandin):
    embedded = httpx.post(
        standin.url + "/v1/embeddings",
        json={"model": "nomic-embed-text", "input": "x", "encoding_format": "base64"},
        trust_env=False,
    ).json()
    standin.reset()
    listed = httpx.get(standin.url + "/v1/models", trust_env=False).json()

    packed = base64.b64decode(embedded["data"][0]["embedding"])
    values = struct.unpack(f"<{len(packed) // 4}f", packed)
    assert round(sum(v * v for v in values), 4) == 1.0
    assert listed == {"object": "list", "data": None}
