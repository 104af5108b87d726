"""Several daphne processes sharing PostgreSQL and Redis, as a team that outgrew one process runs.

These processes use their own PostgreSQL database and Redis database (not the suite's), so the
test runs the same in the default and the scaled configuration.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.ollama_standin import OllamaStandin, running_standin

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "chatsite_multiprocess"
REDIS_URL = "redis://127.0.0.1:6379/14"
SECRET_KEY = "multiprocess-test-key-" + "x" * 40

SEED = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from chatsite.accounts.models import User
from conversations.models import Conversation
admin = User.objects.create_user("ada", password="unused-pass-42", is_staff=True,
                                 is_superuser=True, is_approved=True)
session = SessionStore()
session[SESSION_KEY] = str(admin.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
session.create()
conversation = Conversation.objects.create(owner=admin, title="Across processes",
                                           model="llama3.2:latest")
print(session.session_key, conversation.id)
"""


@dataclass
class Site:
    """One daphne process of the site."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    environment: dict[str, str]
    ollama: OllamaStandin
    session: str
    conversation: str
    tmp: Path
    sites: list[Site]

    def start(self, name: str) -> Site:
        port = _free_port()
        log = self.tmp / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "chatsite.serve", "-b", "127.0.0.1", "-p", str(port)]
                + ["chatsite.asgi:application"],
                cwd=ROOT,
                env=self.environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        site = Site(name, port, process, log)
        self.sites.append(site)
        _wait_until_listening(site)
        return site

    def socket(self, site: Site, path: str):  # -> websockets connect context
        return connect(
            f"ws://127.0.0.1:{site.port}{path}",
            origin="http://127.0.0.1",
            additional_headers={"Cookie": f"sessionid={self.session}"},
            open_timeout=10,
        )

    def http(self, site: Site) -> httpx.Client:
        return httpx.Client(
            base_url=site.url, cookies={"sessionid": self.session}, trust_env=False, timeout=10
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(site: Site) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if site.process.poll() is not None:
            pytest.fail(f"daphne {site.name} exited:\n{site.log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", site.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"daphne {site.name} did not start:\n{site.log.read_text()}")


def _fresh_database() -> None:
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")


def _query(sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(f"{POSTGRES}/{DATABASE}") as connection:
        return connection.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("multiprocess")
    _fresh_database()
    with running_standin() as ollama:
        environment = {
            **os.environ,
            "DATABASE_URL": f"{POSTGRES}/{DATABASE}",
            "REDIS_URL": REDIS_URL,
            "DATA_DIR": str(tmp),
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OLLAMA_HOST": ollama.url,
            # Short, so a killed process's reply is reaped quickly.
            "CHAT_LEASE_SECONDS": "2",
        }
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment, check=True
        )
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        seeded = subprocess.run(
            [*manage, "shell", "-c", SEED],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        session, conversation = seeded.stdout.split()[-2:]
        cluster = Cluster(environment, ollama, session, conversation, tmp, [])
        try:
            cluster.start("a")
            cluster.start("b")
            yield cluster
        finally:
            for site in cluster.sites:
                site.stop()


@pytest.fixture
def ollama(cluster: Cluster) -> OllamaStandin:
    cluster.ollama.reset()
    cluster.ollama.add_model("llama3.2:latest")
    return cluster.ollama


async def frames_until(ws: ClientConnection, pattern: str, within: float = 10.0) -> str:
    """Everything the socket receives up to the first frame matching `pattern`."""
    seen = ""
    async with asyncio.timeout(within):
        while not re.search(pattern, seen):
            seen += str(await ws.recv())
    return seen


def words(count: int) -> list[str]:
    return [f"w{i} " for i in range(count)]


async def test_a_reply_started_through_one_process_streams_to_a_socket_on_another_and_stops_there(
    cluster: Cluster, ollama: OllamaStandin
):
    a, b = cluster.sites
    ollama.script_chat(words(400), token_delay=0.03)
    path = f"/ws/chat/{cluster.conversation}/"
    async with cluster.socket(a, path) as on_a, cluster.socket(b, path) as on_b:
        await on_a.send(json.dumps({"action": "send", "message": "hi", "model": "llama3.2"}))
        await frames_until(on_b, r"w3 ")  # live on B, generated by A
        await on_b.send(json.dumps({"action": "stop"}))
        seen_on_a = await frames_until(on_a, "Stopped")

    await ollama.await_for(lambda s: s.requests_to("/api/chat")[-1].client_disconnected)
    assert "Stopped" in seen_on_a
    [(state, content)] = _query(
        "SELECT state, content FROM conversations_message WHERE role = 'assistant'"
    )
    assert state == "stopped"
    assert content.startswith("w0 w1 w2 w3 ")
    assert ollama.tokens_sent() < 400


async def test_a_pull_started_on_one_process_shows_its_progress_to_an_admin_on_another(
    cluster: Cluster, ollama: OllamaStandin
):
    a, b = cluster.sites
    ollama.script_pull(step_delay=0.02)
    async with cluster.socket(b, "/ws/manage/models/") as admin_on_b:
        with cluster.http(a) as client:
            page = client.get("/manage/models/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
            answer = client.post(
                "/manage/models/pull/",
                data={"name": "tinyllama", "host": ollama.url, "csrfmiddlewaretoken": token},
                headers={"Referer": a.url + "/manage/models/"},
            )
            assert answer.status_code in (200, 302), answer.text
        seen = await frames_until(admin_on_b, r"tinyllama[\s\S]*100%", within=20)

    assert "tinyllama" in seen
    deadline = time.monotonic() + 10
    while _query("SELECT state FROM library_pull WHERE name LIKE 'tinyllama%%'") != [
        ("succeeded",)
    ]:
        assert time.monotonic() < deadline, "the pull was not stored as succeeded"
        await asyncio.sleep(0.05)


# Last in this module: it kills process A.
async def test_a_reply_whose_process_is_killed_is_marked_interrupted_with_its_text_kept(
    cluster: Cluster, ollama: OllamaStandin
):
    a, b = cluster.sites
    ollama.script_chat(words(1000), token_delay=0.02)
    async with cluster.socket(a, f"/ws/chat/{cluster.conversation}/") as on_a:
        await on_a.send(json.dumps({"action": "send", "message": "long", "model": "llama3.2"}))
        await ollama.await_for(lambda s: s.tokens_sent() >= 80, timeout=10)
        # Wait for a flush (about once a second) so there is text to keep.
        deadline = time.monotonic() + 5
        while not _query(
            "SELECT 1 FROM conversations_message WHERE state = 'streaming' AND content <> ''"
        ):
            assert time.monotonic() < deadline, "no flush within 5 s"
            await asyncio.sleep(0.05)
        a.kill()

    # B does not touch the reply while A's lease runs; once it has expired, opening the
    # conversation on B marks it interrupted.
    await asyncio.sleep(2.5)
    with cluster.http(b) as client:
        page = client.get(f"/c/{cluster.conversation}/")
    assert page.status_code == 200
    assert "Interrupted" in page.text
    rows = _query(
        "SELECT state, content, error FROM conversations_message WHERE role = 'assistant' "
        "ORDER BY created_at DESC LIMIT 1"
    )
    [(state, content, error)] = rows
    assert state == "interrupted"
    assert content.startswith("w0 w1 ")
    assert "stopped while this reply was being written" in error
