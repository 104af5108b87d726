"""Who may use the live gateway, and how much: revoked and expired keys, deactivated accounts,
the model access rule, the per-user limits (429 with Retry-After), and a server that is down."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.chatsite.gateway.live import LiveGateway, run_manage_shell
from tests.ollama_standin import Failure
from tests.site_process import start_site

CHAT = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": False}


def post(gateway: LiveGateway, who: str, path: str, body: dict) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10) as http:
        return http.post(gateway.url + path, json=body, headers=gateway.auth(who))


def test_a_revoked_key_is_refused_on_its_next_request(gateway: LiveGateway):
    assert post(gateway, "carol", "/ollama/api/chat", CHAT).status_code == 200
    gateway.query(
        "UPDATE gateway_apikey SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = "
        "(SELECT id FROM accounts_user WHERE username = 'carol')"
    )
    try:
        refused = post(gateway, "carol", "/ollama/api/chat", CHAT)
    finally:
        gateway.query("UPDATE gateway_apikey SET revoked_at = NULL")

    assert refused.status_code == 401
    assert refused.json() == {"error": refused.json()["error"]}
    assert "revoked" in refused.json()["error"]
    assert len(gateway.ollama.requests_to("/api/chat")) == 1


async def test_a_stream_whose_key_is_revoked_ends_with_ollamas_error_line(gateway: LiveGateway):
    gateway.ollama.script_chat(["first"], failure=Failure.hang(after_tokens=1))

    async with httpx.AsyncClient(trust_env=False, timeout=20) as http:
        request = http.build_request(
            "POST",
            gateway.url + "/ollama/api/chat",
            json={**CHAT, "stream": True},
            headers=gateway.auth("carol"),
        )
        response = await http.send(request, stream=True)
        lines = response.aiter_lines()
        first = await anext(lines)
        gateway.query(
            "UPDATE gateway_apikey SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = "
            "(SELECT id FROM accounts_user WHERE username = 'carol')"
        )
        try:
            rest = [line async for line in lines]  # ends at the next lease renewal (1 s)
        finally:
            await response.aclose()
            gateway.query("UPDATE gateway_apikey SET revoked_at = NULL")

    assert json.loads(first)["message"]["content"] == "first"
    assert rest == ['{"error": "The API key was revoked or its account disabled."}']
    await gateway.ollama.await_for(lambda s: s.requests_to("/api/chat")[-1].client_disconnected)
    [(status,)] = gateway.query("SELECT status FROM gateway_usagerecord ORDER BY id DESC LIMIT 1")
    assert status == "cancelled"


def test_an_expired_key_and_a_deactivated_account_are_refused(gateway: LiveGateway):
    gateway.query(
        "UPDATE gateway_apikey SET expires_at = '2020-01-01 00:00:00' WHERE user_id = "
        "(SELECT id FROM accounts_user WHERE username = 'carol')"
    )
    try:
        expired = post(gateway, "carol", "/ollama/api/chat", CHAT)
    finally:
        gateway.query("UPDATE gateway_apikey SET expires_at = NULL")
    gateway.query("UPDATE accounts_user SET is_active = 0 WHERE username = 'carol'")
    try:
        deactivated = post(gateway, "carol", "/v1/chat/completions", CHAT)
    finally:
        gateway.query("UPDATE accounts_user SET is_active = 1 WHERE username = 'carol'")

    assert expired.status_code == 401
    assert deactivated.status_code == 401
    assert deactivated.json()["error"]["code"] == "invalid_api_key"
    assert gateway.ollama.requests_to("/api/chat") == []


@pytest.fixture
def restricted(gateway: LiveGateway) -> Iterator[LiveGateway]:
    """Members may use only llama3.2 (as an admin chooses on the site settings page)."""
    gateway.ollama.add_model("qwen3:8b", capabilities=("completion", "thinking"))
    settings = "from chatsite.accounts.models import SiteSettings\ns = SiteSettings.load()\n"
    run_manage_shell(
        gateway.environment,
        settings + "s.restrict_member_models = True\ns.member_models = ['llama3.2']\ns.save()",
    )
    try:
        yield gateway
    finally:
        run_manage_shell(
            gateway.environment, settings + "s.restrict_member_models = False\ns.save()"
        )


def test_keys_obey_the_model_access_rule(restricted: LiveGateway):
    gateway = restricted
    other = {**CHAT, "model": "qwen3:8b"}

    member = post(gateway, "alice", "/ollama/api/chat", other)
    member_openai = post(gateway, "alice", "/v1/chat/completions", other)
    allowed = post(gateway, "alice", "/ollama/api/chat", CHAT)
    embedding = post(
        gateway, "alice", "/ollama/api/embed", {"model": "nomic-embed-text", "input": "x"}
    )
    admin = post(gateway, "ada", "/ollama/api/chat", other)
    with httpx.Client(trust_env=False) as http:
        listed = http.get(gateway.url + "/ollama/api/tags", headers=gateway.auth("alice"))

    assert member.status_code == 403
    assert member.json() == {
        "error": "The model 'qwen3:8b' is not available to you on this site. Pick another model."
    }
    assert member_openai.status_code == 403
    assert member_openai.json()["error"]["type"] == "permission_error"
    assert allowed.status_code == 200
    assert embedding.status_code == 200  # embedding models are fine for embeddings
    assert admin.status_code == 200
    assert [m["name"] for m in listed.json()["models"]] == ["llama3.2:latest"]


async def test_over_the_concurrent_limit_is_429_with_retry_after(gateway: LiveGateway):
    gateway.ollama.script_chat(["slow"], failure=Failure.hang(after_tokens=1))
    body = {**CHAT, "stream": True}

    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:

        async def hold() -> httpx.Response:
            request = http.build_request(
                "POST", gateway.url + "/ollama/api/chat", json=body, headers=gateway.auth("dave")
            )
            return await http.send(request, stream=True)

        held = [await hold(), await hold()]  # the default limit: 2 at once
        await gateway.ollama.await_for(lambda s: len(s.requests_to("/api/chat")) == 2)
        over = await http.post(
            gateway.url + "/v1/chat/completions", json=CHAT, headers=gateway.auth("dave")
        )
        for response in held:
            await response.aclose()

    assert over.status_code == 429
    assert int(over.headers["retry-after"]) >= 1
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    assert "2 replies being written" in over.json()["error"]["message"]
    assert len(gateway.ollama.requests_to("/api/chat")) == 2  # the third never reached Ollama
    await gateway.ollama.await_for(
        lambda s: all(r.client_disconnected for r in s.requests_to("/api/chat"))
    )


def test_the_openai_client_sees_the_429_as_a_rate_limit_error(gateway: LiveGateway):
    gateway.ollama.script_chat(["slow"], failure=Failure.hang(after_tokens=1))
    with httpx.Client(trust_env=False, timeout=10) as http:
        streams = []
        for _ in range(2):
            request = http.build_request(
                "POST",
                gateway.url + "/ollama/api/chat",
                json={**CHAT, "stream": True},
                headers=gateway.auth("dave"),
            )
            streams.append(http.send(request, stream=True))
        try:
            with (
                openai.OpenAI(
                    base_url=gateway.url + "/v1", api_key=gateway.keys["dave"], max_retries=0
                ) as client,
                pytest.raises(openai.RateLimitError) as limited,
            ):
                client.chat.completions.create(
                    model="llama3.2", messages=[{"role": "user", "content": "hi"}]
                )
        finally:
            for stream in streams:
                stream.close()

    assert limited.value.response.headers["retry-after"]


@pytest.fixture(scope="module")
def dead_upstream(live: LiveGateway) -> Iterator[str]:
    """A second site process on the same database whose Ollama is not listening."""
    environment = {**live.environment, "OLLAMA_HOST": "http://127.0.0.1:9"}
    site = start_site(environment, live.database.parent / "dead.log")
    try:
        yield site.url
    finally:
        site.stop()


def test_upstream_down_is_a_502_in_each_familys_shape(gateway: LiveGateway, dead_upstream: str):
    with httpx.Client(trust_env=False, timeout=10) as http:
        native = http.post(
            dead_upstream + "/ollama/api/chat", json=CHAT, headers=gateway.auth("alice")
        )
        compatible = http.post(
            dead_upstream + "/v1/chat/completions", json=CHAT, headers=gateway.auth("alice")
        )
        listed = http.get(dead_upstream + "/ollama/api/tags", headers=gateway.auth("alice"))

    assert native.status_code == 502
    assert native.json() == {
        "error": "chatsite could not reach the Ollama server for this model. Try again later."
    }
    assert compatible.status_code == 502
    assert compatible.json()["error"]["type"] == "api_error"
    assert listed.status_code == 502
    [(status, error)] = gateway.query(
        "SELECT status, error FROM gateway_usagerecord ORDER BY id DESC LIMIT 1"
    )
    assert status == "failed" and error


async def test_a_streamed_openai_completion_left_mid_way_closes_the_request(gateway: LiveGateway):
    gateway.ollama.script_chat([f"t{i} " for i in range(500)], token_delay=0.02)
    body = {**CHAT, "stream": True}

    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        request = http.build_request(
            "POST", gateway.url + "/v1/chat/completions", json=body, headers=gateway.auth("alice")
        )
        response = await http.send(request, stream=True)
        async for line in response.aiter_lines():
            if line.startswith("data: ") and "t2 " in json.loads(line[6:])["choices"][0][
                "delta"
            ].get("content", ""):
                break
        await response.aclose()

    await gateway.ollama.await_for(
        lambda s: s.requests_to("/v1/chat/completions")[-1].client_disconnected, timeout=10
    )
    assert gateway.ollama.tokens_sent() < 500
