"""The stand-in's vision model (tests/ollama_standin/vision.py): it decodes `images` as Ollama
does, refuses what Ollama refuses, and says what it was shown."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conversations.attachments import files
from tests.ollama_standin import OllamaStandin, received_images, running_standin


@pytest.fixture
def standin() -> Iterator[OllamaStandin]:
    with running_standin() as server:
        server.add_model("llama3.2")
        server.add_vision_model("gemma3:4b")
        yield server


def chat(standin: OllamaStandin, model: str, images: list[Any]) -> httpx.Response:
    body = {
        "model": model,
        "stream": False,
        "messages": [{"role": "user", "content": "What is this?", "images": images}],
    }
    with httpx.Client(base_url=standin.url, trust_env=False, timeout=5) as client:
        return client.post("/api/chat", json=body)


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_vision_model_lists_the_capability(standin):
    with httpx.Client(base_url=standin.url, trust_env=False, timeout=5) as client:
        shown = client.post("/api/show", json={"model": "gemma3:4b"}).json()
    assert shown["capabilities"] == ["completion", "vision"]


def test_the_vision_model_says_how_many_images_it_was_shown_and_their_sizes(standin):
    answer = chat(standin, "gemma3:4b", [encoded(files.png(30, 20)), encoded(files.jpeg(8, 6))])

    assert answer.status_code == 200
    assert answer.json()["message"]["content"] == "I was shown 2 images: 30x20 PNG, 8x6 JPEG."
    [request] = standin.requests_to("/api/chat")
    assert [(i.format, i.width, i.height) for i in received_images(request)] == [
        ("PNG", 30, 20),
        ("JPEG", 8, 6),
    ]


def test_a_scripted_reply_wins_over_the_description(standin):
    standin.script_chat("A cat.", model="gemma3:4b")
    answer = chat(standin, "gemma3:4b", [encoded(files.png())])
    assert answer.json()["message"]["content"] == "A cat."


def test_a_data_url_is_refused_as_ollama_refuses_it(standin):
    answer = chat(standin, "gemma3:4b", ["data:image/png;base64," + encoded(files.png())])

    assert answer.status_code == 400
    assert answer.json() == {"error": "illegal base64 data at input byte 4"}


def test_images_that_are_not_a_list_of_strings_are_refused(standin):
    answer = chat(standin, "gemma3:4b", [5])
    assert answer.status_code == 400
    assert "ImageData" in answer.json()["error"]


def test_a_model_without_vision_answers_as_usual(standin):
    answer = chat(standin, "llama3.2", [encoded(files.png())])
    assert answer.json()["message"]["content"] == "Hello from the stand-in."
