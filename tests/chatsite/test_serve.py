"""`python -m chatsite.serve`: daphne that agrees to permessage-deflate and still serves pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from autobahn.websocket.compress import PerMessageDeflateOffer
from websockets.asyncio.client import connect

from chatsite.serve import MEM_LEVEL, WINDOW_BITS, accept_deflate
from tests.site_process import clean_environment, seed_session, start_site


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
