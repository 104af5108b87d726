"""The official `ollama` client pointed at chatsite's /ollama/ with a key: the same calls as
against Ollama itself, answered by the stand-in behind the gateway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import ollama as ollama_client
import pytest

from tests.chatsite.gateway.live import LiveGateway
from tests.ollama_standin import Failure


@contextlib.contextmanager
def native(gateway: LiveGateway, who: str = "alice") -> Iterator[ollama_client.Client]:
    client = ollama_client.Client(host=gateway.url + "/ollama", headers=gateway.auth(who))
    try:
        yield client
    finally:
        client.close()


@contextlib.asynccontextmanager
async def native_async(
    gateway: LiveGateway, who: str = "alice"
) -> AsyncIterator[ollama_client.AsyncClient]:
    client = ollama_client.AsyncClient(host=gateway.url + "/ollama", headers=gateway.auth(who))
    try:
        yield client
    finally:
        await client.close()


def last_usage(gateway: LiveGateway) -> tuple:
    [row] = gateway.query(
        "SELECT u.username, u2.name, r.endpoint, r.model, r.server, r.status, r.prompt_tokens, "
        "r.output_tokens, r.duration_ns > 0 FROM gateway_usagerecord r "
        "JOIN accounts_user u ON u.id = r.user_id JOIN gateway_apikey u2 ON u2.id = r.key_id "
        "ORDER BY r.id DESC LIMIT 1"
    )
    return row


def test_chat_not_streamed_comes_back_whole_and_is_recorded(gateway: LiveGateway):
    gateway.ollama.script_chat("Rayleigh scattering.")

    with native(gateway) as ollama:
        reply = ollama.chat(
            model="llama3.2",
            messages=[{"role": "user", "content": "Why is the sky blue?"}],
            stream=False,
        )

    assert reply.message.content == "Rayleigh scattering."
    assert reply.done and reply.eval_count == 2
    assert last_usage(gateway) == (
        "alice", "tests", "chat", "llama3.2", gateway.ollama.url, "complete", 5, 2, 1,
    )  # fmt: skip
    [sent] = gateway.ollama.requests_to("/api/chat")
    assert "authorization" not in sent.headers  # the key stays with chatsite


def test_chat_streamed_arrives_chunk_by_chunk_with_ollamas_metrics(gateway: LiveGateway):
    gateway.ollama.script_chat(["One", " two", " three"])

    with native(gateway) as ollama:
        chunks = list(
            ollama.chat(
                model="llama3.2", messages=[{"role": "user", "content": "count"}], stream=True
            )
        )

    assert [c.message.content for c in chunks] == ["One", " two", " three", ""]
    assert chunks[-1].done and chunks[-1].eval_count == 3
    assert last_usage(gateway)[5:8] == ("complete", 1, 3)


async def test_the_async_client_streams_a_chat_and_generates(gateway: LiveGateway):
    gateway.ollama.script_chat(["Hello", " there"])
    gateway.ollama.script_generate("A title")

    async with native_async(gateway) as ollama:
        stream = await ollama.chat(
            model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join([chunk.message.content async for chunk in stream])
        generated = await ollama.generate(model="llama3.2", prompt="Name this chat", stream=False)

    assert text == "Hello there"
    assert generated.response == "A title"
    assert last_usage(gateway)[2:6] == ("generate", "llama3.2", gateway.ollama.url, "complete")


def test_generate_streamed(gateway: LiveGateway):
    gateway.ollama.script_generate("Once upon a time")

    with native(gateway) as ollama:
        parts = [
            part.response for part in ollama.generate(model="llama3.2", prompt="Tell", stream=True)
        ]

    assert "".join(parts) == "Once upon a time"


def test_embed_and_the_older_embeddings(gateway: LiveGateway):
    with native(gateway) as ollama:
        embedded = ollama.embed(model="nomic-embed-text", input=["first text", "second"])
        legacy = ollama.embeddings(model="nomic-embed-text", prompt="first text")

    assert len(embedded.embeddings) == 2
    assert sum(x * x for x in embedded.embeddings[0]) == pytest.approx(1.0)
    assert len(legacy.embedding) == len(embedded.embeddings[0])
    assert last_usage(gateway)[2:6] == (
        "embeddings", "nomic-embed-text", gateway.ollama.url, "complete",
    )  # fmt: skip
    [embed_row] = gateway.query(
        "SELECT prompt_tokens FROM gateway_usagerecord WHERE endpoint = 'embed' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert embed_row == (3,)


def test_list_show_ps_and_version(gateway: LiveGateway):
    gateway.ollama.load_model("llama3.2:latest")

    with native(gateway) as ollama:
        listed = ollama.list()
        shown = ollama.show("llama3.2")
        running = ollama.ps()
    with httpx.Client(trust_env=False) as http:
        version = http.get(gateway.url + "/ollama/api/version", headers=gateway.auth("alice"))

    assert {m.model for m in listed.models} == {"llama3.2:latest", "nomic-embed-text:latest"}
    assert "completion" in (shown.capabilities or [])
    assert [m.model for m in running.models] == ["llama3.2:latest"]
    assert version.json() == {"version": "0.33.0"}
    assert gateway.query("SELECT count(*) FROM gateway_usagerecord WHERE endpoint = 'show'") == [
        (0,)
    ]  # only generations are usage


def test_a_bad_key_gets_401_in_ollamas_shape_and_reaches_no_server(gateway: LiveGateway):
    client = ollama_client.Client(
        host=gateway.url + "/ollama", headers={"Authorization": "Bearer cs-not-a-key"}
    )
    try:
        with pytest.raises(ollama_client.ResponseError) as refused:
            client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    finally:
        client.close()

    assert refused.value.status_code == 401
    assert "API key is not valid" in refused.value.error
    assert gateway.ollama.requests == []


def test_no_key_and_a_session_cookie_are_not_enough(gateway: LiveGateway):
    with httpx.Client(trust_env=False, cookies={"sessionid": "anything"}) as http:
        answer = http.get(gateway.url + "/ollama/api/tags")

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in answer.json()["error"]


def test_a_member_calling_pull_gets_403_and_an_admin_pulls(gateway: LiveGateway):
    with native(gateway) as ollama, pytest.raises(ollama_client.ResponseError) as refused:
        ollama.pull("tinyllama")
    with native(gateway, "ada") as ollama:
        steps = [step.status for step in ollama.pull("tinyllama", stream=True)]

    assert refused.value.status_code == 403
    assert refused.value.error == "Only an admin's API key may do this."
    assert steps[0] == "pulling manifest" and steps[-1] == "success"
    assert len(gateway.ollama.requests_to("/api/pull")) == 1  # the admin's only


def test_an_unknown_model_gets_ollamas_own_404(gateway: LiveGateway):
    with native(gateway) as ollama, pytest.raises(ollama_client.ResponseError) as missing:
        ollama.chat(model="no-such-model", messages=[{"role": "user", "content": "hi"}])

    assert missing.value.status_code == 404
    assert missing.value.error == "model 'no-such-model' not found"
    assert last_usage(gateway)[5] == "failed"


def test_ollamas_own_refusal_passes_through_as_it_is(gateway: LiveGateway):
    gateway.ollama.script_chat(failure=Failure.status(503))

    with native(gateway) as ollama, pytest.raises(ollama_client.ResponseError) as busy:
        ollama.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])

    # Ollama's own refusal passes through as it is.
    assert busy.value.status_code == 503
    assert "server busy" in busy.value.error


async def test_a_client_that_leaves_mid_stream_closes_the_request_to_ollama(gateway: LiveGateway):
    gateway.ollama.script_chat([f"w{i} " for i in range(500)], token_delay=0.02)

    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        request = http.build_request(
            "POST",
            gateway.url + "/ollama/api/chat",
            json={"model": "llama3.2", "messages": [{"role": "user", "content": "long"}]},
            headers=gateway.auth("alice"),
        )
        response = await http.send(request, stream=True)
        async for line in response.aiter_lines():
            if "w3 " in line:
                break
        await response.aclose()

    await gateway.ollama.await_for(
        lambda s: s.requests_to("/api/chat")[-1].client_disconnected, timeout=10
    )
    assert gateway.ollama.tokens_sent() < 500
    await_status = None
    for _ in range(200):  # the record is finished right after the relay stops
        [(await_status,)] = gateway.query(
            "SELECT status FROM gateway_usagerecord ORDER BY id DESC LIMIT 1"
        )
        if await_status != "running":
            break
        await gateway.ollama.await_for(lambda s: True, timeout=0.05)
    assert await_status == "cancelled"


def test_a_bad_key_on_embed_makes_chatsite_ask_no_server_at_all(gateway: LiveGateway):
    with httpx.Client(trust_env=False) as http:
        answer = http.post(
            gateway.url + "/ollama/api/embed",
            json={"model": "nomic-embed-text", "input": "x"},
            headers={"Authorization": "Bearer cs-wrong"},
        )

    assert answer.status_code == 401
    assert gateway.ollama.requests == []  # not even the model list


def test_a_server_that_drops_mid_reply_ends_the_answer_and_the_record_says_failed(
    gateway: LiveGateway,
):
    gateway.ollama.script_chat(["One", " two", " three"], failure=Failure.drop_mid_stream(2))

    with native(gateway) as ollama:
        parts = []
        with pytest.raises(ollama_client.ResponseError) as lost:
            for chunk in ollama.chat(
                model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                parts.append(chunk.message.content)

    assert parts == ["One", " two"]
    assert lost.value.error == "chatsite lost the connection to the Ollama server mid-reply."
    [(status, error)] = gateway.query(
        "SELECT status, error FROM gateway_usagerecord ORDER BY id DESC LIMIT 1"
    )
    assert status == "failed"
    assert "lost" in error
