"""Wire-fidelity tests of the stand-in's /api/create and /api/copy, and of the created model's
system prompt applied to chats that bring none, with raw httpx."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.ollama_standin import UNKNOWN_MANIFEST


def stream_lines(http: httpx.Client, path: str, body: dict) -> list[dict]:
    with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        return [json.loads(line) for line in response.read().decode().splitlines()]


def test_a_create_streams_status_lines_to_success_and_the_model_is_installed(standin, http):
    body = {
        "model": "reviewer",
        "from": "llama3.2",
        "system": "You review code.",
        "parameters": {"temperature": 0.2, "stop": ["<|end|>", "###"]},
        "license": "MIT",
    }
    lines = stream_lines(http, "/api/create", body)
    statuses = [line["status"] for line in lines]
    assert statuses[0].startswith("using existing layer sha256:")
    assert sum(s.startswith("creating new layer sha256:") for s in statuses) == 3
    assert statuses[-2:] == ["writing manifest", "success"]

    names = [m["name"] for m in http.get("/api/tags").json()["models"]]
    assert "reviewer:latest" in names
    shown = http.post("/api/show", json={"model": "reviewer"}).json()
    assert shown["system"] == "You review code."
    assert shown["license"] == "MIT"
    assert shown["parameters"].splitlines() == [
        'stop                           "<|end|>"',
        'stop                           "###"',
        "temperature                    0.2",
    ]
    assert 'SYSTEM """You review code."""' in shown["modelfile"]
    assert "PARAMETER temperature 0.2" in shown["modelfile"]


def test_a_create_from_a_missing_base_pulls_it_first_and_fails_like_an_unknown_pull(standin, http):
    lines = stream_lines(http, "/api/create", {"model": "reviewer", "from": "nope"})
    assert lines == [{"status": "pulling manifest"}, {"error": UNKNOWN_MANIFEST}]
    assert "reviewer:latest" not in [m["name"] for m in http.get("/api/tags").json()["models"]]


@pytest.mark.parametrize("name", ["bad name!", "", "a/"])
def test_a_create_with_an_invalid_name_is_a_400(http, name):
    response = http.post("/api/create", json={"model": name, "from": "llama3.2"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid model name"}


def test_quantizing_needs_an_f16_base(standin, http):
    lines = stream_lines(
        http, "/api/create", {"model": "q", "from": "llama3.2", "quantize": "q8_0"}
    )
    assert lines == [{"error": "quantization is only supported for F16 and F32 models"}]
    standin.add_model("raw:f16", quantization_level="F16")
    body = {"model": "q", "from": "raw:f16", "quantize": "q4_K_M"}
    lines = stream_lines(http, "/api/create", body)
    assert lines[0] == {"status": "quantizing F16 model to q4_K_M"}
    tags = {m["name"]: m for m in http.get("/api/tags").json()["models"]}
    assert tags["q:latest"]["details"]["quantization_level"] == "Q4_K_M"


def test_a_create_that_loses_the_server_mid_stream_installs_nothing(standin, http):
    standin.script_create(drop_after_steps=0)
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/api/create", json={"model": "r", "from": "llama3.2"}) as response,
    ):
        response.read()
    assert [m["name"] for m in http.get("/api/tags").json()["models"]] == ["llama3.2:latest"]


def test_copy_answers_as_ollama_does(standin, http):
    response = http.post("/api/copy", json={"source": "llama3.2", "destination": "mine"})
    assert (response.status_code, response.content) == (200, b"")
    assert "mine:latest" in [m["name"] for m in http.get("/api/tags").json()["models"]]

    missing = http.post("/api/copy", json={"source": "ghost", "destination": "x"})
    assert (missing.status_code, missing.json()) == (404, {"error": 'model "ghost" not found'})
    bad = http.post("/api/copy", json={"source": "llama3.2", "destination": "bad name!"})
    assert (bad.status_code, bad.json()) == (400, {"error": 'destination "bad name!" is invalid'})
    bad = http.post("/api/copy", json={"source": "x y", "destination": "z"})
    assert bad.json() == {"error": 'source "x y" is invalid'}


def test_a_chat_without_a_system_message_gets_the_models_own(standin, http):
    standin.add_model("reviewer", system="You review code.")
    chat = {"model": "reviewer", "messages": [{"role": "user", "content": "hi"}]}
    stream_lines(http, "/api/chat", chat)
    own = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    stream_lines(http, "/api/chat", {**chat, "messages": own})
    first, second = standin.requests_to("/api/chat")
    assert first.applied_system == "You review code."
    assert second.applied_system == ""
