"""`python -m chatsite.serve`: daphne that agrees to permessage-deflate and still serves pages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from autobahn.websocket.compress import PerMessageDeflateOffer
from websockets.asyncio.client import connect

from chatsite.serve import MEM_LEVEL, WINDOW_BITS, accept_deflate

ROOT = Path(__file__).resolve().parents[2]

# Migrates the throwaway database, collects static files (pages need the manifest with DEBUG off)
# and prints a signed-in session and a conversation of its user, in one process (each Django
# start-up costs about a second).
SEED = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("collectstatic", verbosity=0, interactive=False)
from chatsite.accounts.models import User
from conversations.models import Conversation
user = User.objects.create_user("carol", password=None, is_approved=True)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
conversation = Conversation.objects.create(owner=user, title="Compressed", model="m")
print(session.session_key, conversation.id)
"""


@dataclass(frozen=True)
class Served:
    url: str
    session: str
    conversation: str

    def socket_url(self, path: str) -> str:
        return self.url.replace("http://", "ws://") + path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chatsite.serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"chatsite.serve did not listen on {port} within 20 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("serve")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "OLLAMA_", "DATABASE_URL", "REDIS_URL", "DATA_DIR"))
    }
    environment |= {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'site.sqlite3'}",
        "DJANGO_SECRET_KEY": "serve-test-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_DEBUG": "false",
        "OLLAMA_HOST": "http://127.0.0.1:9",  # never asked: these tests send no message
    }
    seeded = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    session, conversation = seeded.stdout.split()[-2:]
    port = _free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(port)]
            + ["chatsite.asgi:application"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(port, process, log)
        yield Served(f"http://127.0.0.1:{port}", session, conversation)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
