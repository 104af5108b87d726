"""The health check: up or down for anyone; which Ollama servers answer, with their versions, for
site admins and token holders; Ollama asked at most once per few seconds however often it is hit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from django.urls import reverse

from chatsite.health import FRESH_SECONDS, OllamaHealth, ollama_health
from tests.ollama_standin import OllamaStandin, running_standin

DOWN = "http://127.0.0.1:9"
TOKEN = "a-long-random-monitoring-token"


@pytest.fixture(autouse=True)
def nothing_known_yet() -> Iterator[None]:
    ollama_health.forget()
    yield
    ollama_health.forget()


@pytest.fixture
def second_ollama(settings, ollama: OllamaStandin) -> Iterator[OllamaStandin]:
    with running_standin() as standin:
        settings.OLLAMA_HOSTS = [ollama.url, standin.url]
        yield standin


def test_anonymous_healthz_says_only_that_the_site_and_ollama_are_up(client, ollama, db):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ollama": {"reachable": True}}
    assert ollama.url.removeprefix("http://") not in response.text


def test_anonymous_healthz_says_ollama_is_down_without_naming_it(client, settings, db):
    settings.OLLAMA_HOST = DOWN
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ollama": {"reachable": False}}


def test_a_member_who_is_not_an_admin_sees_no_detail(alice_client, ollama):
    body = alice_client.get(reverse("healthz")).json()

    assert body == {"status": "ok", "ollama": {"reachable": True}}


def test_a_site_admin_sees_each_server_with_its_version(admin_client, ollama):
    body = admin_client.get(reverse("healthz")).json()

    assert body["status"] == "ok"
    assert body["ollama"]["reachable"] is True
    assert body["ollama"]["servers"] == [
        {"host": ollama.url, "reachable": True, "version": "0.33.0"}
    ]


def test_a_site_admin_sees_an_unreachable_server_named_with_its_error(admin_client, settings):
    settings.OLLAMA_HOST = DOWN
    body = admin_client.get(reverse("healthz")).json()

    assert body["ollama"]["reachable"] is False
    [server] = body["ollama"]["servers"]
    assert server["host"] == DOWN
    assert server["reachable"] is False
    assert "127.0.0.1:9" in server["error"]


def test_a_site_admin_sees_each_of_several_servers(admin_client, settings, ollama):
    settings.OLLAMA_HOSTS = [ollama.url, DOWN]
    body = admin_client.get(reverse("healthz")).json()

    assert body["ollama"]["reachable"] is True
    assert [(s["host"], s["reachable"]) for s in body["ollama"]["servers"]] == [
        (ollama.url, True),
        (DOWN, False),
    ]


def test_the_token_as_a_bearer_header_shows_the_detail(client, settings, ollama, db):
    settings.HEALTHZ_TOKEN = TOKEN
    body = client.get(reverse("healthz"), headers={"Authorization": f"Bearer {TOKEN}"}).json()

    assert [server["host"] for server in body["ollama"]["servers"]] == [ollama.url]


def test_the_token_in_the_query_string_shows_the_detail(client, settings, ollama, db):
    settings.HEALTHZ_TOKEN = TOKEN
    body = client.get(reverse("healthz"), {"token": TOKEN}).json()

    assert [server["host"] for server in body["ollama"]["servers"]] == [ollama.url]


def test_a_wrong_token_shows_no_detail(client, settings, ollama, db):
    settings.HEALTHZ_TOKEN = TOKEN
    by_header = client.get(reverse("healthz"), headers={"Authorization": "Bearer guess"}).json()
    by_query = client.get(reverse("healthz"), {"token": TOKEN[:-1]}).json()

    assert "servers" not in by_header["ollama"]
    assert "servers" not in by_query["ollama"]


def test_an_empty_token_shows_no_detail_when_none_is_configured(client, settings, ollama, db):
    settings.HEALTHZ_TOKEN = ""
    by_header = client.get(reverse("healthz"), headers={"Authorization": "Bearer "}).json()
    by_query = client.get(reverse("healthz"), {"token": ""}).json()

    assert "servers" not in by_header["ollama"]
    assert "servers" not in by_query["ollama"]


@pytest.mark.django_db(transaction=True)
async def test_twenty_concurrent_health_checks_ask_each_server_once(
    async_client, ollama, second_ollama
):
    responses = await asyncio.gather(*(async_client.get(reverse("healthz")) for _ in range(20)))

    assert {response.status_code for response in responses} == {200}
    assert all(response.json()["ollama"]["reachable"] for response in responses)
    assert len(ollama.requests_to("/api/version")) == 1
    assert len(second_ollama.requests_to("/api/version")) == 1


def test_many_checks_in_a_row_ask_each_server_once(client, second_ollama, ollama, db):
    for _ in range(20):
        assert client.get(reverse("healthz")).status_code == 200

    assert len(ollama.requests_to("/api/version")) == 1
    assert len(second_ollama.requests_to("/api/version")) == 1


async def test_concurrent_callers_share_one_request_to_each_server(second_ollama, ollama):
    health = OllamaHealth()

    answers = await asyncio.gather(*(health.servers() for _ in range(20)))

    assert all(answer == answers[0] for answer in answers)
    assert [server.reachable for server in answers[0]] == [True, True]
    assert len(ollama.requests_to("/api/version")) == 1
    assert len(second_ollama.requests_to("/api/version")) == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_check_for_the_others(ollama):
    health = OllamaHealth()
    leaving = asyncio.create_task(health.servers())
    staying = asyncio.create_task(health.servers())
    await asyncio.sleep(0)  # one turn of the loop: both are now waiting on the same check

    leaving.cancel()
    [server] = await staying

    assert server.reachable is True
    assert leaving.cancelled()
    assert len(ollama.requests_to("/api/version")) == 1


async def test_an_answer_is_reused_while_fresh_and_asked_again_once_stale(ollama):
    now = [1000.0]
    health = OllamaHealth(clock=lambda: now[0])

    await health.servers()
    now[0] += FRESH_SECONDS - 0.1
    await health.servers()
    assert len(ollama.requests_to("/api/version")) == 1

    now[0] += 0.2
    await health.servers()
    assert len(ollama.requests_to("/api/version")) == 2
