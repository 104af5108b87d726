"""The health check: the site's status and whether each Ollama server answers."""

from __future__ import annotations

from django.urls import reverse

DOWN = "http://127.0.0.1:9"


def test_healthz_reports_ollama_reachable_with_its_version(client, ollama, db):
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "ok"
    assert body["ollama"]["reachable"] is True
    assert body["ollama"]["servers"] == [
        {"host": ollama.url, "reachable": True, "version": "0.33.0"}
    ]


def test_healthz_reports_ollama_unreachable_naming_the_host(client, settings, db):
    settings.OLLAMA_HOST = DOWN
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200
    assert body["ollama"]["reachable"] is False
    [server] = body["ollama"]["servers"]
    assert server["host"] == DOWN
    assert server["reachable"] is False
    assert "127.0.0.1:9" in server["error"]


def test_healthz_reports_each_of_several_servers(client, settings, ollama, db):
    settings.OLLAMA_HOSTS = [ollama.url, DOWN]
    body = client.get(reverse("healthz")).json()
    assert body["ollama"]["reachable"] is True
    assert [(s["host"], s["reachable"]) for s in body["ollama"]["servers"]] == [
        (ollama.url, True),
        (DOWN, False),
    ]
