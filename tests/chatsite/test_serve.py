"""`python -m chatsite.serve`: daphne that agrees to permessage-deflate, refuses request bodies
over their limit before reading them, and still serves pages."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from autobahn.websocket.compress import PerMessageDeflateOffer
from websockets.asyncio.client import connect

from chatsite.serve import MEM_LEVEL, WINDOW_BITS, accept_deflate
from tests.site_process import clean_environment, seed_session, start_site

REQUEST_LIMIT = 1024 * 1024
IMPORT_LIMIT = 3 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)


@dataclass(frozen=True)
class Served:
    url: str
    session: str
    conversation: str

    def socket_url(self, path: str) -> str:
        return self.url.replace("http://", "ws://") + path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("serve")
    environment = clean_environment(
        DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir / 'site.sqlite3'}",
        DJANGO_SECRET_KEY="serve-test-key-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        OLLAMA_HOST="http://127.0.0.1:9",  # never asked: these tests send no message
        CHAT_REQUEST_MAX_BYTES=str(REQUEST_LIMIT),
        CHAT_IMPORT_REQUEST_MAX_BYTES=str(IMPORT_LIMIT),
    )
    session, conversation = seed_session(environment, "carol")
    site = start_site(environment, data_dir / "serve.log")
    try:
        yield Served(site.url, session, conversation)
    finally:
        site.stop()


async def test_a_chat_socket_offered_permessage_deflate_agrees_to_it(served: Served):
    async with connect(
        served.socket_url(f"/ws/chat/{served.conversation}/"),
        origin=served.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={served.session}"},
        compression="deflate",
        open_timeout=10,
    ) as ws:
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        await ws.send('{"action": "stop"}')  # a compressed frame the server must read
        await ws.ping()

    assert agreed.startswith("permessage-deflate")
    assert f"client_max_window_bits={WINDOW_BITS}" in agreed


async def test_a_chat_socket_without_an_offer_is_served_uncompressed(served: Served):
    async with connect(
        served.socket_url(f"/ws/chat/{served.conversation}/"),
        origin=served.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={served.session}"},
        compression=None,
        open_timeout=10,
    ) as ws:
        assert "Sec-WebSocket-Extensions" not in ws.response.headers


def test_pages_are_still_served_over_plain_http(served: Served):
    with httpx.Client(base_url=served.url, trust_env=False, timeout=10) as client:
        page = client.get("/accounts/login/")

    assert page.status_code == 200
    assert "<form" in page.text


def test_the_offer_is_accepted_with_a_small_window_and_memory_level():
    accept = accept_deflate([PerMessageDeflateOffer.parse({"client_max_window_bits": [True]})])

    assert accept is not None
    assert (accept.window_bits, accept.mem_level) == (WINDOW_BITS, MEM_LEVEL)
    assert accept.request_max_window_bits == WINDOW_BITS


def test_a_client_asking_for_a_smaller_server_window_gets_it():
    offer = PerMessageDeflateOffer.parse({"server_max_window_bits": ["10"]})

    accept = accept_deflate([offer])

    assert accept is not None
    assert accept.window_bits == 10
    assert accept.request_max_window_bits == 0  # the client did not allow choosing its window
    assert "server_max_window_bits=10" in accept.get_extension_string()


def exchange(served: Served, head: str, body: Iterable[bytes] = ()) -> bytes:
    """Send a request over a plain socket and read until the server closes the connection.

    The timeout only turns a server that never answers into a failure; no result depends on it.
    """
    port = int(served.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        for part in body:
            connection.sendall(part)
        received = b""
        while piece := connection.recv(65536):
            received += piece
    return received


def chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_a_150_mb_post_to_the_sign_in_page_is_refused_before_its_body_is_sent(served: Served):
    answer = exchange(
        served,
        "POST /accounts/login/ HTTP/1.1\nHost: 127.0.0.1\n"
        "Content-Type: application/x-www-form-urlencoded\n"
        f"Content-Length: {150 * 1024 * 1024}\n",
    )

    # No byte of the body was sent, and the server answered and hung up: it never waited for it.
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert f"up to {REQUEST_LIMIT} bytes".encode() in answer


def test_a_client_expecting_100_continue_is_answered_413_instead(served: Served):
    answer = exchange(
        served,
        "POST /accounts/login/ HTTP/1.1\nHost: 127.0.0.1\nExpect: 100-continue\n"
        f"Content-Length: {REQUEST_LIMIT + 1}\n",
    )

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(served: Served):
    # 20 chunks of 64 KiB: the 17th passes 1 MiB; the rest are read and dropped. The body is
    # never finished (no last chunk), so the answer can only come from the cut-off.
    answer = exchange(
        served,
        "POST /accounts/login/ HTTP/1.1\nHost: 127.0.0.1\nTransfer-Encoding: chunked\n",
        [chunked(CHUNK)] * 20,
    )

    assert answer.startswith(b"HTTP/1.1 413 ")


def test_the_import_page_takes_a_body_over_the_general_limit(served: Served):
    body = b"x" * (2 * 1024 * 1024)
    answer = exchange(
        served,
        f"POST /import/ HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n"
        f"Content-Length: {len(body)}\n",
        [body],
    )

    # It reached the site: Django's CSRF check answers a POST without a token.
    assert answer.startswith(b"HTTP/1.1 403 ")


def test_the_import_page_refuses_a_body_over_the_import_limit(served: Served):
    answer = exchange(
        served,
        f"POST /import/ HTTP/1.1\nHost: 127.0.0.1\nContent-Length: {150 * 1024 * 1024}\n",
    )

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert f"up to {IMPORT_LIMIT} bytes".encode() in answer


def test_a_post_under_the_limit_reaches_the_sign_in_form(served: Served):
    with httpx.Client(base_url=served.url, trust_env=False, timeout=20) as client:
        client.get("/accounts/login/")
        token = client.cookies["csrftoken"]
        fields = {"csrfmiddlewaretoken": token, "username": "nobody", "password": "wrong"}
        answer = client.post("/accounts/login/", data={**fields, "padding": "x" * 900_000})

    assert answer.status_code == 200
    assert 'name="username"' in answer.text


def test_a_chunked_post_under_the_limit_reaches_the_sign_in_form(served: Served):
    with httpx.Client(base_url=served.url, trust_env=False, timeout=20) as client:
        client.get("/accounts/login/")
        token = client.cookies["csrftoken"]
        form = f"csrfmiddlewaretoken={token}&username=nobody&password=wrong".encode()
        answer = client.post(
            "/accounts/login/",
            content=iter([form, b"&padding=", b"x" * 100_000]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    assert answer.request.headers["Transfer-Encoding"] == "chunked"
    assert answer.status_code == 200
    assert 'name="username"' in answer.text


UPLOAD_LIMIT = 20 * 1024 * 1024 + 64 * 1024  # CHAT_UPLOAD_MAX_BYTES's default and its envelope


def test_an_attachment_upload_takes_a_body_over_the_general_limit(served: Served):
    body = b"x" * (2 * 1024 * 1024)
    answer = exchange(
        served,
        f"POST /c/attachments/ HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n"
        f"Content-Length: {len(body)}\n",
        [body],
    )

    assert answer.startswith(b"HTTP/1.1 403 ")  # it reached the site (no CSRF token)


def test_a_60_mb_attachment_upload_is_refused_before_its_body_is_sent(served: Served):
    answer = exchange(
        served,
        f"POST /c/attachments/ HTTP/1.1\nHost: 127.0.0.1\nContent-Length: {60 * 1024 * 1024}\n",
    )

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert f"up to {UPLOAD_LIMIT} bytes".encode() in answer


def test_every_served_connection_sends_small_writes_at_once():
    """Nagle's algorithm off (TCP_NODELAY): a token written while the client had not yet
    acknowledged the one before waited up to its delayed-ACK timer (~40 ms) to leave."""
    from twisted.internet import tcp
    from twisted.web.http import HTTPChannel

    from chatsite.serve import send_small_writes_at_once

    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    try:
        channel = HTTPChannel()
        channel.transport = tcp.Connection(accepted, channel)
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0

        send_small_writes_at_once(channel)

        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for open_socket in (client, accepted, listener):
            open_socket.close()


def test_a_frame_sent_once_the_client_said_goodbye_is_dropped_without_an_error():
    """Between the client's Close frame and the end of the TCP connection the application is
    not yet told of the disconnect; a reply frame it sends then must not raise inside it."""
    from autobahn.exception import Disconnected
    from daphne.ws_protocol import WebSocketProtocol

    from chatsite.serve import ClosingWebSocketProtocol, CompressingWebSocketFactory

    frame = {"type": "websocket.send", "text": "a token"}
    closing, daphnes = ClosingWebSocketProtocol(), WebSocketProtocol()
    for protocol in (closing, daphnes):
        protocol.state = protocol.STATE_CLOSING
        protocol.client_addr = ["127.0.0.1", 50000]

    closing.handle_reply(frame)  # dropped: no transport was needed to write it

    with pytest.raises(Disconnected):
        daphnes.handle_reply(frame)
    assert CompressingWebSocketFactory.protocol is ClosingWebSocketProtocol


@pytest.mark.parametrize(
    ("path", "error_of"),
    [
        ("/ollama/api/chat", lambda body: body["error"]),
        ("/v1/chat/completions", lambda body: body["error"]["message"]),
    ],
)
def test_a_too_large_api_request_is_refused_in_its_endpoint_familys_json_shape(
    served: Served, path: str, error_of: Any
):
    answer = exchange(
        served,
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
        "Authorization: Bearer cs-whatever\n"
        f"Content-Length: {REQUEST_LIMIT + 1}\n",
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"Content-Type: application/json" in head
    message = error_of(json.loads(body))
    assert message.startswith(f"The request body is larger than the {REQUEST_LIMIT:,} bytes")
    assert "CHAT_REQUEST_MAX_BYTES" in message


def test_the_openai_client_shows_the_too_large_message(served: Served):
    import openai

    client = openai.OpenAI(base_url=served.url + "/v1", api_key="cs-whatever", max_retries=0)
    with pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(
            model="llava",
            messages=[{"role": "user", "content": "x" * (REQUEST_LIMIT + 1)}],
        )

    assert refused.value.status_code == 413
    assert "larger than the 1,048,576 bytes chatsite accepts" in refused.value.message
