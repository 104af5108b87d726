"""The health check: the site's status and whether Ollama answers."""

from __future__ import annotations

from django.urls import reverse


def test_healthz_reports_ollama_reachable_with_its_version(client, ollama, db):
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "ok"
    assert body["ollama"]["reachable"] is True
    assert body["ollama"]["version"] == "0.33.0"
    assert body["ollama"]["host"] == ollama.url


def test_healthz_reports_ollama_unreachable_naming_the_host(client, settings, db):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200
    assert body["ollama"]["reachable"] is False
    assert body["ollama"]["host"] == "http://127.0.0.1:9"
    assert "127.0.0.1:9" in body["ollama"]["error"]
