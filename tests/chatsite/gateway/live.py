"""A live site process with API keys, for the gateway's tests: the real `ollama` and `openai`
clients talk to it over HTTP, and it talks to the stand-in."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tests.ollama_standin import OllamaStandin
from tests.site_process import SiteProcess, run_manage

# Migrates, collects static files, and makes the cast (alice a member, ada an admin, carol to be
# deactivated) with a key each, printed as JSON. One Django start-up for all of it.
SEED = """
import json
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
call_command("collectstatic", verbosity=0, interactive=False)
from chatsite.accounts.models import User
from chatsite.gateway.models import ApiKey
keys = {}
for name, admin in (("alice", False), ("ada", True), ("carol", False), ("dave", False)):
    user = User.objects.create_user(name, password=None, is_approved=True, is_staff=admin,
                                    is_superuser=admin)
    keys[name] = ApiKey.objects.create_key(user, "tests")[1]
print(json.dumps(keys))
"""


def seed_keys(environment: dict[str, str]) -> dict[str, str]:
    return json.loads(run_manage_shell(environment, SEED).strip().splitlines()[-1])


def run_manage_shell(environment: dict[str, str], code: str) -> str:
    done = run_manage(environment, "shell", "-c", code)
    done.check_returncode()
    return done.stdout


@dataclass
class LiveGateway:
    site: SiteProcess
    ollama: OllamaStandin
    keys: dict[str, str]
    database: Path
    environment: dict[str, str]

    @property
    def url(self) -> str:
        return self.site.url

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()
