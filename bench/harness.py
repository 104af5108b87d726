"""What every benchmark shares: a throwaway site (temporary DATA_DIR and database, migrated, seeded
users with session cookies), daphne serving it as `make run` does, a stand-in that notes when each
token left it, browser-like socket clients, and the statistics and tables the scripts print.

The stand-in and the clients run in the benchmark's process and read one monotonic clock, so a
token's delay is its arrival at the client minus its departure from the stand-in. daphne runs in
its own process, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect

from tests.ollama_standin import OllamaStandin, RecordedRequest
from tests.site_process import start_site

ROOT = Path(__file__).resolve().parents[1]
MODEL = "llama3.2:latest"
# The htmx ws extension sends the form's fields plus the request headers htmx would have sent.
HTMX_HEADERS = {"HX-Request": "true", "HX-Trigger": "composer", "HX-Target": "composer"}
# Tokens carry their sequence number so a client can tell which one a frame brought.
TOKEN = re.compile(r"tok(\d+)")
# The finished frame puts the Send button back; nothing earlier in a turn contains it.
REPLY_FINISHED = 'id="send-button"'

# time.time() on the stand-in's records, turned into time.monotonic().
_WALL_TO_MONOTONIC = time.time() - time.monotonic()


# --- The stand-in, with a departure time for every token -------------------------------------


class TimedStandin(OllamaStandin):
    """The Ollama stand-in, noting when each chat token left it.

    Replies are told apart by the last message of the request (each client sends its own text).
    """

    def __init__(self) -> None:
        super().__init__()
        self.departures: dict[str, list[float]] = {}
        self.received: dict[str, float] = {}

    def _count_tokens(self, record: RecordedRequest, count: int = 1) -> None:
        super()._count_tokens(record, count)
        if record.path != "/api/chat" or count != 1:
            return
        now = time.monotonic()
        key = request_key(record.body)
        times = self.departures.get(key)
        if times is None:
            times = self.departures[key] = []
            self.received[key] = record.started_at - _WALL_TO_MONOTONIC
        times.append(now)

    def own_ttft(self, key: str) -> float | None:
        """The stand-in's own time to first token: request read -> first token written."""
        times = self.departures.get(key)
        return times[0] - self.received[key] if times else None


def request_key(body: Any) -> str:
    with contextlib.suppress(Exception):
        return str(body["messages"][-1]["content"])
    return ""


def numbered_tokens(count: int, paragraph_every: int = 40) -> list[str]:
    """`tok0 tok1 ...`, a blank line every `paragraph_every` tokens so Markdown blocks complete."""
    tokens = []
    for seq in range(count):
        if seq == 0:
            tokens.append("tok0")
        elif seq % paragraph_every == 0:
            tokens.append(f"\n\ntok{seq}")
        else:
            tokens.append(f" tok{seq}")
    return tokens


# --- The site ----------------------------------------------------------------------------------


@dataclass
class Seeded:
    user_id: int
    cookie: str
    conversation_ids: list[str] = field(default_factory=list)


@dataclass
class Site:
    data_dir: Path
    env: dict[str, str]
    standin: TimedStandin
    database: str
    port: int = 0
    daphne: subprocess.Popen[bytes] | None = None
    # Every serving process (the first is `port`/`daphne`); clients are spread over them.
    ports: list[int] = field(default_factory=list)
    daphnes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # Failure lines found in the serving processes' logs once they stopped (log_problems()).
    log_problems: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self) -> psutil.Process:
        assert self.daphne is not None
        return psutil.Process(self.daphne.pid)

    def cpu_seconds(self) -> float:
        """CPU seconds of every serving process together."""
        total = 0.0
        for daphne in self.daphnes or ([self.daphne] if self.daphne else []):
            times = psutil.Process(daphne.pid).cpu_times()
            total += times.user + times.system
        return total

    def rss(self) -> int:
        return self.process.memory_info().rss

    def socket_url(self, conversation_id: str, client: int = 0) -> str:
        """The chat socket's address on one of the serving processes (client number modulo)."""
        port = self.ports[client % len(self.ports)] if self.ports else self.port
        return f"ws://127.0.0.1:{port}/ws/chat/{conversation_id}/"

    def script_reply(self, tokens: Sequence[str], *, token_delay: float = 0.0) -> None:
        """Every chat request from now on gets this reply (a fresh script set per round)."""
        self.standin.script_chat(list(tokens), token_delay=token_delay)


def _database_url(data_dir: Path) -> tuple[str, str]:
    """SQLite in DATA_DIR, or a fresh `<name>_bench` database beside DATABASE_URL's `<name>`
    (so benchmarks of several checkouts on one server do not share one). It is made from the
    server's `postgres` database: `<name>` itself need not exist yet (a fresh machine)."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{data_dir / 'chatsite.sqlite3'}", "SQLite (WAL)"
    import psycopg

    base, _, name = configured.rpartition("/")
    bench = f"{name.split('?', 1)[0]}_bench"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{bench}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{bench}"')
    return f"{base}/{bench}", "PostgreSQL"


@contextlib.contextmanager
def prepared_site(*, collectstatic: bool = False) -> Iterator[Site]:
    """A migrated, empty site in a temporary DATA_DIR, with Django set up in this process too
    (the scripts seed rows through the ORM). Call `serve()` to start daphne."""
    data_dir = Path(tempfile.mkdtemp(prefix="chatsite-bench-"))
    standin = TimedStandin().start()
    standin.add_model(MODEL)
    try:
        database_url, database = _database_url(data_dir)
        env = {
            "DJANGO_SETTINGS_MODULE": "chatsite.settings",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_DEBUG": "false",
            "OLLAMA_HOST": standin.url,
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(env)
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        if collectstatic:
            call_command("collectstatic", verbosity=0, interactive=False)
        from django.db import connections

        connections.close_all()
        yield Site(data_dir=data_dir, env=env, standin=standin, database=database)
    finally:
        standin.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def serve(
    site: Site, *, extra_env: dict[str, str] | None = None, processes: int = 1
) -> Iterator[Site]:
    """daphne on a free port, started as `make run` starts it (through bench.serve, which is
    chatsite.serve unless a probe is asked for in extra_env); `processes` > 1 starts several,
    which share the database and, with REDIS_URL, the channel layer."""
    environment = {**os.environ, **site.env, **(extra_env or {})}
    started = []
    profiler = None
    # A log per process and per serve(), so each is read once.
    logs = [site.data_dir / f"daphne-{secrets.token_hex(3)}.log" for _ in range(processes)]
    try:
        for log in logs:
            started.append(start_site(environment, log, module="bench.serve"))
        site.port, site.daphne = started[0].port, started[0].process
        site.ports = [p.port for p in started]
        site.daphnes = [p.process for p in started]
        profiler = _start_profiler(site)
        yield site
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=30)
        for process in started:
            process.stop()
        site.daphne, site.ports, site.daphnes = None, [], []
        for log in logs:
            site.log_problems += log_problems(log)


# What must never appear in a serving process's log (issue 13: Redis timeouts killing sockets).
LOG_PROBLEMS = ("Traceback", "Task exception was never retrieved", "TimeoutError", "Error:")


def log_problems(log: Path) -> list[str]:
    """The failures a daphne log reports, a line each: a traceback is named by its exception
    line (the first unindented line after its frames), which says what went wrong."""
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    problems, number = [], 0
    while number < len(lines):
        line = lines[number]
        if line.startswith("Traceback"):
            number = _exception_index(lines, number + 1)
            found = lines[number] if number < len(lines) else "(the log ends inside it)"
            problems.append("Traceback: " + found)
        elif any(problem in line for problem in LOG_PROBLEMS):
            problems.append(line)
        number += 1
    return problems


def _exception_index(lines: Sequence[str], start: int) -> int:
    """Where a traceback's exception line is: frames and source lines are indented, and
    twisted marks the frame that caught it with an unindented '--- <exception caught here> ---'."""
    number = start
    while number < len(lines):
        line = lines[number]
        if line and not line[0].isspace() and not line.startswith("---"):
            break
        number += 1
    return number


def _start_profiler(site: Site) -> subprocess.Popen[bytes] | None:
    """BENCH_PROFILE=path: sample daphne with py-spy while it serves; collapsed stacks go to
    path (read them with `python -m bench.profile_summary path`)."""
    path = os.environ.get("BENCH_PROFILE")
    if not path:
        return None
    assert site.daphne is not None
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking"]
    command += ["-r", "250", "-f", "raw", "-o", path, "-p", str(site.daphne.pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seed_users(count: int, conversations_each: int = 0, *, prefix: str = "bench") -> list[Seeded]:
    """Approved users, each signed in (a session cookie) with empty conversations."""
    from django.conf import settings
    from django.db import connections
    from django.test import Client

    from chatsite.accounts.models import User
    from conversations.models import Conversation

    seeded = []
    for number in range(count):
        user = User.objects.create_user(
            username=f"{prefix}-{number}-{secrets.token_hex(3)}", password=None, is_approved=True
        )
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        rows = Conversation.objects.bulk_create(
            Conversation(owner=user, title=f"Bench {number}.{i}", model=MODEL)
            for i in range(conversations_each)
        )
        seeded.append(Seeded(user.pk, cookie, [str(row.id) for row in rows]))
    connections.close_all()
    return seeded


# --- Browser-like socket clients ---------------------------------------------------------------


def send_frame(text: str, *, model: str = MODEL) -> str:
    """What the htmx ws extension sends when the composer is submitted."""
    return json.dumps({"action": "send", "message": text, "model": model, "HEADERS": HTMX_HEADERS})


def frame_wire_bytes(payload: bytes) -> int:
    """A server-to-client websocket frame on the wire: header (unmasked) plus payload."""
    size = len(payload)
    return size + (2 if size < 126 else 4 if size < 65536 else 10)


class WireCounter:
    """Bytes that arrived on a client socket, split at frame boundaries by reading the frame
    headers: `messages[i]` is what the i-th data message took on the wire (compressed payload
    plus headers, as sent), so a reading can count exactly the frames it saw."""

    def __init__(self) -> None:
        self.total = 0
        self.messages: list[int] = []
        self.control = 0
        self._buffer = b""
        self._in_handshake = True
        self._partial = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        self._buffer += data
        if self._in_handshake:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self._buffer = self._buffer[end + 4 :]
            self._in_handshake = False
        while len(self._buffer) >= 2:
            first, second = self._buffer[0], self._buffer[1]
            length, header = second & 0x7F, 2
            if length >= 126:
                header = 4 if length == 126 else 10
                if len(self._buffer) < header:
                    return
                length = int.from_bytes(self._buffer[2:header], "big")
            header += 4 if second & 0x80 else 0  # a masked frame (never from a server)
            size = header + length
            if len(self._buffer) < size:
                return
            self._buffer = self._buffer[size:]
            if first & 0x0F >= 0x8:  # ping, pong, close
                self.control += size
                continue
            self._partial += size
            if first & 0x80:  # FIN: the message is complete
                self.messages.append(self._partial)
                self._partial = 0


@dataclass
class Reading:
    """What one client saw of one reply."""

    key: str
    sent_at: float = 0.0
    arrivals: dict[int, float] = field(default_factory=dict)
    finished_at: float | None = None
    frames: list[str] = field(default_factory=list)
    error: str = ""


class CountingConnection(ClientConnection):
    """A websockets client connection whose `.wire` counts the bytes that arrive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wire = WireCounter()

    def data_received(self, data: bytes) -> None:
        self.wire.feed(data)
        super().data_received(data)


async def open_chat_socket(
    site: Site,
    conversation_id: str,
    cookie: str,
    *,
    compression: str | None = "deflate",
    client: int = 0,
) -> CountingConnection:
    """A chat socket as a browser opens it: offering permessage-deflate, as Chromium does on
    every socket (compression=None for a client that does not); `client` picks the process."""
    url = site.socket_url(conversation_id, client)
    return await connect(
        url,
        # The site checks that a socket's origin is its own scheme, host and port.
        origin="http" + url[2:].split("/ws/", 1)[0],  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={cookie}"},
        compression=compression,
        max_size=None,
        open_timeout=60,
        ping_interval=None,
        create_connection=CountingConnection,
    )


async def read_reply(ws: Any, reading: Reading, *, keep_frames: bool = False) -> None:
    """Read frames until the reply's finished frame, noting when each token first showed."""
    async for message in ws:
        now = time.monotonic()
        text = message if isinstance(message, str) else message.decode()
        for match in TOKEN.finditer(text):
            reading.arrivals.setdefault(int(match[1]), now)
        if keep_frames:
            reading.frames.append(text)
        if REPLY_FINISHED in text:
            reading.finished_at = now
            return
    reading.error = "socket closed before the reply finished"


async def drain(ws: Any, quiet_for: float = 0.05) -> None:
    """Skip what the socket sends on connect (the catch-up frame for a conversation with a
    finished reply)."""
    with contextlib.suppress(TimeoutError):
        while True:
            await asyncio.wait_for(ws.recv(), quiet_for)


# --- Statistics and tables -------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table, readable as plain text too."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine_description() -> str:
    memory = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{psutil.cpu_count()} CPUs ({cpu}), {memory:.0f} GB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; load average {load}"
    )


class CpuMeter:
    """CPU seconds used by daphne and by this process between start() and stop()."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.own = psutil.Process()

    def start(self) -> None:
        self.wall = time.monotonic()
        self.daphne_start = self.site.cpu_seconds()
        own = self.own.cpu_times()
        self.own_start = own.user + own.system

    def stop(self) -> tuple[float, float, float]:
        """(daphne CPU s, bench-process CPU s, wall s)."""
        own = self.own.cpu_times()
        return (
            self.site.cpu_seconds() - self.daphne_start,
            own.user + own.system - self.own_start,
            time.monotonic() - self.wall,
        )
