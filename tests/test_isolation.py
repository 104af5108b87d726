"""Isolation matrix: bob tries every conversation URL and websocket path of alice's and meets 404.

A new conversation URL or socket path joins the matrix with one line in CONVERSATION_URLS or
CONVERSATION_SOCKETS; "{conversation}" and "{message}" stand for alice's conversation and message,
"{image}" and "{document}" for that message's attachments, "{pending}" for a file in her composer.
Pages answer 404 (not 403: existence is not revealed); sockets close with 4404; anonymous,
unapproved and inactive accounts are refused on connect (4401/4403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import reverse

from chatsite.accounts.models import User
from conversations.attachments import intake
from conversations.models import Attachment, Conversation, Message
from tests.conversations.attachments import files
from tests.factories import make_conversation, make_message, make_user


class Url(NamedTuple):
    name: str
    args: tuple[str, ...] = ("{conversation}",)
    method: str = "get"


CONVERSATION_URLS: list[Url] = [
    Url("conversations:detail"),
    Url("conversations:message", ("{conversation}", "{message}")),
    Url("conversations:edit_message", ("{conversation}", "{message}")),
    Url("conversations:export_markdown"),
    Url("conversations:export_json"),
    Url("conversations:review"),
    Url("conversations:title"),
    Url("conversations:rename"),
    Url("conversations:rename", method="post"),
    Url("conversations:pin", method="post"),
    Url("conversations:unpin", method="post"),
    Url("conversations:archive", method="post"),
    Url("conversations:unarchive", method="post"),
    Url("conversations:delete"),
    Url("conversations:delete", method="post"),
    Url("conversations:attachment_file", ("{image}",)),
    Url("conversations:attachment_text", ("{document}",)),
    Url("conversations:attachment_remove", ("{pending}",), method="post"),
]
CONVERSATION_SOCKETS: list[str] = [
    "/ws/chat/{conversation}/",
]

REFUSED_ON_CONNECT = {4401, 4403}


@pytest.fixture
def alices(alice: User) -> dict[str, str]:
    """Alice's conversation with one message, as the placeholders the rows use."""
    conversation = make_conversation(alice, title="Alice's secret plans")
    message = make_message(conversation, content="The secret is 42")
    image = intake.accept_upload(alice, "secret.png", files.png())
    document = intake.accept_upload(alice, "secret.txt", b"The secret is 42")
    intake.attach(alice, message, [image.pk, document.pk])
    pending = intake.accept_upload(alice, "draft.txt", b"A secret draft")
    return {
        "conversation": str(conversation.pk),
        "message": str(message.pk),
        "image": str(image.pk),
        "document": str(document.pk),
        "pending": str(pending.pk),
    }


def url_for(row: Url, ids: dict[str, str]) -> str:
    return reverse(row.name, args=[arg.format(**ids) for arg in row.args])


def request(client: Client, row: Url, ids: dict[str, str]):
    return getattr(client, row.method)(url_for(row, ids))


def stored_state() -> list:
    """Everything a foreign request could change, to check it changed nothing."""
    return [
        list(Conversation.objects.values()),
        list(Message.objects.values()),
        list(Attachment.objects.values()),
    ]


@pytest.mark.parametrize("row", CONVERSATION_URLS, ids=lambda row: f"{row.method} {row.name}")
def test_bob_gets_404_on_every_url_of_alices_conversation(bob_client, alices, row):
    before = stored_state()

    response = request(bob_client, row, alices)

    assert response.status_code == 404
    assert "secret" not in response.content.decode()
    assert stored_state() == before


@pytest.mark.parametrize("row", CONVERSATION_URLS, ids=lambda row: f"{row.method} {row.name}")
def test_alice_reaches_every_url_of_her_own_conversation(alice_client, alices, row):
    """Keeps the matrix honest: a row that 404s for its owner too would prove nothing."""
    assert request(alice_client, row, alices).status_code != 404


@pytest.mark.parametrize("row", CONVERSATION_URLS, ids=lambda row: f"{row.method} {row.name}")
def test_anonymous_visitors_are_sent_to_sign_in_from_every_conversation_url(client, alices, row):
    before = stored_state()

    response = request(client, row, alices)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert stored_state() == before


class SocketOutcome(NamedTuple):
    accepted: bool
    close_code: int | None


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def open_socket(path: str, session: str | None = None) -> SocketOutcome:
    """Connect as a browser on the site would (origin, session cookie) and report the outcome.

    A consumer may refuse before accepting or accept and close at once; both count as closed.
    """
    from chatsite.asgi import application

    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if session:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    try:
        connected, detail = await communicator.connect(timeout=5)
        if not connected:
            return SocketOutcome(False, detail)
        while not await communicator.receive_nothing(timeout=0.2):
            message = await communicator.receive_output()
            if message["type"] == "websocket.close":
                return SocketOutcome(True, message.get("code", 1000))
        return SocketOutcome(True, None)
    finally:
        await communicator.disconnect()


def socket_path(template: str, ids: dict[str, str]) -> str:
    return template.format(**ids)


SessionFor = Callable[[str], str | None]


@pytest.fixture
def session_for(transactional_db, alice: User) -> SessionFor:
    """Session cookies for the cast: alice, bob, an unapproved and an inactive account."""
    users = {
        "alice": alice,
        "bob": make_user("bob"),
        "unapproved": make_user("unapproved", approved=False),
        "inactive": make_user("inactive", is_active=False),
    }
    cookies = {name: session_cookie(user) for name, user in users.items()}
    return lambda name: cookies.get(name)


@pytest.fixture
def alices_ids(transactional_db, session_for, alice: User) -> dict[str, str]:
    conversation = make_conversation(alice)
    message = make_message(conversation)
    return {"conversation": str(conversation.pk), "message": str(message.pk)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", CONVERSATION_SOCKETS)
async def test_bobs_socket_to_alices_conversation_closes_with_4404(session_for, alices_ids, path):
    outcome = await open_socket(socket_path(path, alices_ids), session_for("bob"))

    assert outcome.close_code == 4404


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", CONVERSATION_SOCKETS)
async def test_alices_socket_to_her_own_conversation_stays_open(session_for, alices_ids, path):
    outcome = await open_socket(socket_path(path, alices_ids), session_for("alice"))

    assert outcome == SocketOutcome(True, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", ["anonymous", "unapproved", "inactive"])
@pytest.mark.parametrize("path", CONVERSATION_SOCKETS)
async def test_sockets_refuse_anonymous_unapproved_and_inactive_accounts(
    session_for, alices_ids, path, who
):
    outcome = await open_socket(socket_path(path, alices_ids), session_for(who))

    assert outcome.close_code in REFUSED_ON_CONNECT
