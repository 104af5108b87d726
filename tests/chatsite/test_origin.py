"""The websocket origin check: the same scheme, host and port as the site the request reaches, or
a trusted origin; every other page (another port, the other scheme, another host) is refused."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chatsite.asgi import application
from chatsite.origin import origin_allowed
from tests.factories import make_conversation, make_user
from tests.live import session_cookie

PROXY = ("HTTP_X_FORWARDED_PROTO", "https")


def scope(origin: str | None, host: str | None = "localhost", scheme: str = "ws", **headers):
    """A websocket handshake as the ASGI server hands it on; header names use underscores."""
    sent = [("origin", origin), ("host", host)]
    sent += [(name.replace("_", "-"), value) for name, value in headers.items()]
    return {
        "type": "websocket",
        "scheme": scheme,
        "headers": [(name.encode(), value.encode()) for name, value in sent if value is not None],
    }


@pytest.mark.parametrize(
    "handshake",
    [
        scope("http://localhost"),
        scope("http://localhost:8000", "localhost:8000"),
        scope("http://127.0.0.1:8000", "127.0.0.1:8000"),
        scope("http://localhost:80", "localhost"),
        scope("https://localhost", scheme="wss"),
        scope("https://localhost:8443", "LOCALHOST:8443", scheme="wss"),
        scope("http://[::1]:8000", "[::1]:8000"),
    ],
)
def test_the_sites_own_origin_is_accepted(settings, handshake):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

    assert origin_allowed(handshake)


@pytest.mark.parametrize(
    ("handshake", "why"),
    [
        (scope("http://localhost:9999"), "another port"),
        (scope("http://localhost:8000", "localhost:9000"), "another port, both explicit"),
        (scope("http://localhost", "localhost:8000"), "the page is on port 80"),
        (scope("https://127.0.0.1"), "another scheme and host"),
        (scope("https://localhost"), "https page, plain socket"),
        (scope("http://localhost", scheme="wss"), "http page, secure socket"),
        (scope("http://127.0.0.1"), "another host of the same machine"),
        (scope("http://evil.example"), "another site"),
        (scope("http://evil.example", "evil.example"), "a host not in ALLOWED_HOSTS"),
        (scope(None), "no Origin"),
        (scope("null"), "an opaque origin"),
        (scope("http://localhost", None), "no Host"),
        (scope("http://user@localhost"), "credentials in the origin"),
        (scope("http://localhost/chat"), "a path in the origin"),
        (scope("ftp://localhost"), "not a web scheme"),
        (scope("https://localhost", x_forwarded_proto="https"), "a proxy header nobody trusts"),
    ],
)
def test_any_other_origin_is_refused(settings, handshake, why):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

    assert not origin_allowed(handshake), why


def test_two_origin_headers_are_refused():
    handshake = scope("http://localhost")
    handshake["headers"].append((b"origin", b"http://evil.example"))

    assert not origin_allowed(handshake)


@pytest.mark.parametrize(
    ("forwarded_proto", "origin", "allowed"),
    [
        ("https", "https://chat.example.com", True),
        ("https, http", "https://chat.example.com", True),  # Django reads the first value
        ("https", "http://chat.example.com", False),
        ("http", "https://chat.example.com", False),
        (None, "https://chat.example.com", False),  # the proxy must say it was HTTPS
    ],
)
def test_behind_a_tls_proxy_the_forwarded_scheme_counts_as_django_reads_it(
    settings, forwarded_proto, origin, allowed
):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = PROXY
    handshake = scope(origin, "chat.example.com", x_forwarded_proto=forwarded_proto)

    assert origin_allowed(handshake) is allowed


@pytest.mark.parametrize(
    ("trusted", "origin", "allowed"),
    [
        (["https://chat.example.com"], "https://chat.example.com", True),
        (["https://*.example.com"], "https://chat.example.com", True),
        (["https://chat.example.com"], "http://chat.example.com", False),
        (["https://chat.example.com"], "https://chat.example.com:8443", False),
        (["https://*.example.com"], "https://example.com.evil.test", False),
        (["https://*.example.com"], "http://chat.example.com", False),
        ([], "https://chat.example.com", False),
    ],
)
def test_trusted_origins_are_accepted_whatever_host_the_proxy_forwards(
    settings, trusted, origin, allowed
):
    settings.CSRF_TRUSTED_ORIGINS = trusted
    handshake = scope(origin, "127.0.0.1:8001")  # nginx passing its upstream's address

    assert origin_allowed(handshake) is allowed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "host", "connects"),
    [
        ("http://localhost:8000", "localhost:8000", True),
        ("http://localhost:9999", "localhost:8000", False),
        ("https://localhost:8000", "localhost:8000", False),
        ("https://127.0.0.1", "localhost", False),
    ],
)
async def test_a_chat_socket_opens_only_from_the_sites_own_origin(origin, host, connects):
    alice = await database_sync_to_async(make_user)("alice")
    conversation = await database_sync_to_async(make_conversation)(alice)
    headers = [
        (b"origin", origin.encode()),
        (b"host", host.encode()),
        (b"cookie", f"sessionid={await session_cookie(alice)}".encode()),
    ]
    socket = WebsocketCommunicator(application, f"/ws/chat/{conversation.id}/", headers=headers)

    connected, _ = await socket.connect()
    await socket.disconnect()

    assert connected is connects
