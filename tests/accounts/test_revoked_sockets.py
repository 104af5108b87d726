"""Taking access away closes the sockets a user already has open, not only future ones: an admin's
change, signing out (that browser's sockets) and a password change (every browser's)."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import AsyncClient
from django.urls import reverse

from chatsite.asgi import application
from conversations.models import Message
from tests.factories import PASSWORD, make_conversation, make_user
from tests.live import open_socket, receive_until

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


# Signing out and password changes: the session a socket was opened in must still sign it in.

NEW_PASSWORD = "a-long-unusual-passphrase-42"
CLOSED = {"type": "websocket.close", "code": 4403}


async def browser_socket(browser: AsyncClient, path: str) -> WebsocketCommunicator:
    """A socket the way this browser's page opens it: same origin, the browser's own session."""
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [
        (b"origin", b"http://localhost"),
        (b"host", b"localhost"),
        (b"cookie", cookie.encode()),
    ]
    return WebsocketCommunicator(application, path, headers=headers)


async def open_chat(browser: AsyncClient, conversation) -> WebsocketCommunicator:
    socket = await browser_socket(browser, f"/ws/chat/{conversation.id}/")
    assert (await socket.connect())[0]
    return socket


async def assert_closed_and_deaf(socket: WebsocketCommunicator, conversation) -> None:
    """Closed with 4403, and a send the client makes before it has hung up does nothing."""
    assert await socket.receive_output(timeout=5) == CLOSED
    await socket.send_to(text_data=SEND)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()
    assert not await Message.objects.filter(conversation=conversation).aexists()


SEND = json.dumps({"action": "send", "message": "Still there?", "model": "llama3.2:latest"})


async def test_signing_out_closes_that_browsers_chat_socket_and_a_later_send_stores_nothing(
    ollama,
):
    _, _, alice = await cast()
    conversation = await database_sync_to_async(make_conversation)(alice)
    browser = await signed_in(alice)
    socket = await open_chat(browser, conversation)

    await browser.post(reverse("logout"))

    await assert_closed_and_deaf(socket, conversation)
    assert ollama.requests_to("/api/chat") == []


async def test_signing_out_in_one_browser_leaves_the_other_browsers_socket_open(ollama):
    _, _, alice = await cast()
    conversation = await database_sync_to_async(make_conversation)(alice)
    laptop, phone = await signed_in(alice), await signed_in(alice)
    on_laptop, on_phone = (
        await open_chat(laptop, conversation),
        await open_chat(phone, conversation),
    )

    await laptop.post(reverse("logout"))

    assert await on_laptop.receive_output(timeout=5) == CLOSED
    ollama.script_chat("Yes.")
    await on_phone.send_to(text_data=SEND)
    await receive_until(on_phone, "tokens/s")
    await on_laptop.disconnect()
    await on_phone.disconnect()


async def test_changing_your_password_closes_your_sockets_in_every_browser(ollama):
    _, _, alice = await cast()
    conversation = await database_sync_to_async(make_conversation)(alice)
    laptop, phone = await signed_in(alice), await signed_in(alice)
    on_laptop, on_phone = (
        await open_chat(laptop, conversation),
        await open_chat(phone, conversation),
    )

    changed = await laptop.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed["Location"] == reverse("password_change_done")
    await assert_closed_and_deaf(on_laptop, conversation)
    await assert_closed_and_deaf(on_phone, conversation)
    # As Django does for pages: the browser that changed it stays signed in, the other is not.
    assert (await laptop.get(reverse("conversations:index"))).status_code == 200
    assert (await phone.get(reverse("conversations:index"))).status_code == 302
    reloaded = await browser_socket(laptop, f"/ws/chat/{conversation.id}/")
    assert (await reloaded.connect())[0]
    await reloaded.disconnect()


async def test_an_admin_setting_a_new_password_closes_the_users_sockets(ollama):
    ada, root, alice = await cast()
    conversation = await database_sync_to_async(make_conversation)(alice)
    socket = await open_chat(await signed_in(alice), conversation)
    models_page = await browser_socket(await signed_in(root), "/ws/manage/models/")
    assert (await models_page.connect())[0]
    await models_page.receive_from()  # the pull list it catches up with

    admin = await signed_in(ada)
    for account in (alice, root):
        url = reverse("accounts:user_password", args=[account.pk])
        await admin.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    await assert_closed_and_deaf(socket, conversation)
    assert await models_page.receive_output(timeout=5) == CLOSED
    await models_page.disconnect()


async def test_an_admin_signing_out_closes_their_models_page_socket(ollama):
    ada, _, _ = await cast()
    browser = await signed_in(ada)
    models_page = await browser_socket(browser, "/ws/manage/models/")
    assert (await models_page.connect())[0]
    await models_page.receive_from()

    await browser.post(reverse("logout"))

    assert await models_page.receive_output(timeout=5) == CLOSED
    await models_page.disconnect()


@pytest.mark.parametrize("ended_by", ["signing out", "a password change"])
async def test_a_socket_opened_with_a_session_that_ended_is_refused(ollama, ended_by):
    _, _, alice = await cast()
    conversation = await database_sync_to_async(make_conversation)(alice)
    browser = await signed_in(alice)
    if ended_by == "signing out":
        await browser.post(reverse("logout"))
    else:
        await database_sync_to_async(set_password)(alice, NEW_PASSWORD)

    socket = await browser_socket(browser, f"/ws/chat/{conversation.id}/")
    assert await socket.connect() == (False, 4403)


def set_password(user, password: str) -> None:
    """As Django's own admin and the changepassword command do."""
    user.set_password(password)
    user.save()


async def test_a_password_set_in_djangos_admin_closes_the_users_sockets(ollama):
    ada, _, alice = await cast()
    conversation = await database_sync_to_async(make_conversation)(alice)
    socket = await open_chat(await signed_in(alice), conversation)

    admin = await signed_in(ada)
    changed = await admin.post(
        reverse("admin:auth_user_password_change", args=[alice.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    await assert_closed_and_deaf(socket, conversation)
