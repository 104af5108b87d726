"""Several Ollama servers behind the gateway: a request goes to a server that has the model, and
the lists are the union of every server's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.chatsite.gateway.live import LiveGateway
from tests.ollama_standin import OllamaStandin, running_standin
from tests.site_process import start_site


@dataclass
class TwoServers:
    url: str
    first: OllamaStandin
    second: OllamaStandin


@pytest.fixture(scope="module")
def two_servers(live: LiveGateway) -> Iterator[TwoServers]:
    """A second site process on the same database, with the live stand-in and another one."""
    with running_standin() as second:
        hosts = f"{live.ollama.url},{second.url}"
        environment = {**live.environment, "OLLAMA_HOSTS": hosts}
        site = start_site(environment, live.database.parent / "two.log")
        try:
            yield TwoServers(site.url, live.ollama, second)
        finally:
            site.stop()


def test_a_chat_goes_to_the_server_that_has_the_model_and_lists_are_merged(
    gateway: LiveGateway, two_servers: TwoServers
):
    two_servers.second.reset()
    two_servers.second.add_model("qwen3:8b", capabilities=("completion", "thinking"))
    two_servers.second.script_chat("From the second server.")
    body = {"model": "qwen3:8b", "messages": [{"role": "user", "content": "hi"}], "stream": False}

    with httpx.Client(base_url=two_servers.url, trust_env=False, timeout=10) as http:
        reply = http.post("/ollama/api/chat", json=body, headers=gateway.auth("alice"))
        tags = http.get("/ollama/api/tags", headers=gateway.auth("alice"))
        models = http.get("/v1/models", headers=gateway.auth("alice"))

    assert reply.json()["message"]["content"] == "From the second server."
    assert gateway.ollama.requests_to("/api/chat") == []
    assert {m["name"] for m in tags.json()["models"]} == {
        "llama3.2:latest",
        "nomic-embed-text:latest",
        "qwen3:8b",
    }
    assert {m["id"] for m in models.json()["data"]} == {
        "llama3.2:latest",
        "nomic-embed-text:latest",
        "qwen3:8b",
    }
    [(server,)] = gateway.query("SELECT server FROM gateway_usagerecord ORDER BY id DESC LIMIT 1")
    assert server == two_servers.second.url
