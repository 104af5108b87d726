"""Several Ollama servers: the picker shows the union, a chat goes to a server with the model."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from tests.factories import make_conversation, make_user
from tests.live import open_socket, receive_until
from tests.ollama_standin import OllamaStandin, running_standin

DOWN = "http://127.0.0.1:9"


@pytest.fixture
def second_ollama() -> Iterator[OllamaStandin]:
    with running_standin() as standin:
        yield standin


@pytest.fixture
def two_servers_and_one_down(settings, ollama, second_ollama) -> tuple[OllamaStandin, ...]:
    ollama.add_model("shared:7b")
    second_ollama.add_model("shared:7b")
    second_ollama.add_model("only-second:1b")
    settings.OLLAMA_HOSTS = [ollama.url, second_ollama.url, DOWN]
    return ollama, second_ollama


def test_the_picker_shows_every_servers_models_once_and_names_the_server_that_is_down(
    alice_client, two_servers_and_one_down
):
    page = alice_client.get(reverse("conversations:index")).content.decode()
    assert page.count('value="shared:7b"') == 1
    assert 'value="only-second:1b"' in page
    assert 'value="llama3.2:latest"' in page
    assert f"Ollama at {DOWN} is not reachable" in page


def test_the_health_check_still_answers_when_one_server_is_down(client, two_servers_and_one_down):
    assert client.get(reverse("healthz")).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_a_chat_goes_to_a_server_that_has_the_model(two_servers_and_one_down):
    first, second = two_servers_and_one_down
    second.script_chat("From the second server.")
    alice = await database_sync_to_async(make_user)("alice")
    conversation = await database_sync_to_async(make_conversation)(alice)
    socket = await open_socket(alice, f"/ws/chat/{conversation.id}/")
    assert (await socket.connect())[0]
    frame = {"action": "send", "message": "hi", "model": "only-second:1b"}
    await socket.send_to(text_data=json.dumps(frame))
    frames = await receive_until(socket, "tokens/s")
    await socket.disconnect()

    assert "second server" in "".join(frames)
    assert len(second.requests_to("/api/chat")) == 1
    assert first.requests_to("/api/chat") == []


@pytest.mark.django_db(transaction=True)
async def test_chats_for_a_model_on_two_servers_are_spread_over_both(two_servers_and_one_down):
    first, second = two_servers_and_one_down
    alice = await database_sync_to_async(make_user)("alice")
    conversation = await database_sync_to_async(make_conversation)(alice)
    socket = await open_socket(alice, f"/ws/chat/{conversation.id}/")
    assert (await socket.connect())[0]
    for turn in range(16):
        await socket.send_to(text_data=json.dumps({"message": f"q{turn}", "model": "shared:7b"}))
        await receive_until(socket, "tokens/s")
    await socket.disconnect()

    served = (len(first.requests_to("/api/chat")), len(second.requests_to("/api/chat")))
    assert sum(served) == 16
    assert min(served) >= 1, served
