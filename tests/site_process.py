"""The site as a real process, for tests and benchmarks: `python -m chatsite.serve` on a free
port, waited for, and stopped; its output goes to a log that is shown when it fails to start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHATSITE_VARIABLES = ("DJANGO_", "OLLAMA_", "DATABASE_URL", "REDIS_URL", "DATA_DIR", "CHAT_")

# Migrates, collects static files (pages need the manifest with DEBUG off) and prints a signed-in
# session of a new user and a conversation of theirs: one Django start-up instead of three.
SESSION_SEED = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("collectstatic", verbosity=0, interactive=False)
from chatsite.accounts.models import User
from conversations.models import Conversation
user = User.objects.create_user({username!r}, password=None, is_approved=True,
                                is_staff={admin!r}, is_superuser={admin!r})
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
conversation = Conversation.objects.create(owner=user, title="A conversation",
                                           model="llama3.2:latest")
print(session.session_key, conversation.id)
"""


class SiteFailed(RuntimeError):
    """The site process exited or never listened; the message carries its log."""


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without chatsite's own variables, plus `variables`."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(CHATSITE_VARIABLES)
    }
    return environment | variables


def run_manage(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """`manage.py` in a fresh process with this environment (for start-up time behaviour)."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed_session(environment: dict[str, str], username: str, *, admin: bool = False) -> list[str]:
    """Prepare the site's database; return [session key, conversation id] of a new user."""
    seeded = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            SESSION_SEED.format(username=username, admin=admin),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return seeded.stdout.split()[-2:]


@dataclass
class SiteProcess:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_site(
    environment: dict[str, str], log: Path, *, module: str = "chatsite.serve", within: float = 30
) -> SiteProcess:
    """Start the site on a free port and return once it accepts connections."""
    port = free_port()
    command = [sys.executable, "-m", module, "-b", "127.0.0.1", "-p", str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*command, "chatsite.asgi:application"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    site = SiteProcess(port, process, log)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SiteFailed(f"{module} exited with {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return site
        except OSError:
            time.sleep(0.05)
    site.stop()
    raise SiteFailed(f"{module} did not listen on {port} within {within} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-20_000:]
