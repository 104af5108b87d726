"""Taking access away closes the sockets a user already has open, not only future ones."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from tests.factories import make_conversation, make_user
from tests.live import open_socket

pytestmark = [pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def cast():
    return make_user("ada", admin=True), make_user("root", admin=True), make_user("alice")


async def signed_in(user) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(user)
    return client


async def test_deactivating_a_user_closes_their_open_chat_sockets(ollama):
    ada, _, alice = await cast()
    conversation = await database_sync_to_async(make_conversation)(alice)
    socket = await open_socket(alice, f"/ws/chat/{conversation.id}/")
    assert (await socket.connect())[0]

    admin = await signed_in(ada)
    await admin.post(reverse("accounts:user_deactivate", args=[alice.pk]))

    closed = await socket.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4403}


async def test_removing_an_admin_closes_their_models_page_socket_but_not_their_chat(ollama):
    ada, root, _ = await cast()
    conversation = await database_sync_to_async(make_conversation)(root)
    models_page = await open_socket(root, "/ws/manage/models/")
    assert (await models_page.connect())[0]
    await models_page.receive_from()  # the pull list it catches up with
    chat = await open_socket(root, f"/ws/chat/{conversation.id}/")
    assert (await chat.connect())[0]

    admin = await signed_in(ada)
    await admin.post(reverse("accounts:user_remove_admin", args=[root.pk]))

    assert await models_page.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": 4403,
    }
    assert await chat.receive_nothing(timeout=0.3)
    await chat.disconnect()
