"""The official `openai` client with base_url=<site>/v1 and a chatsite key: chat completions
streamed and not, embeddings, models, and its errors, through the gateway to the stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import openai
import pytest

from tests.chatsite.gateway.live import LiveGateway
from tests.ollama_standin import Failure


@contextlib.contextmanager
def openai_client(gateway: LiveGateway, who: str = "alice") -> Iterator[openai.OpenAI]:
    # No retries: the tests look at the first answer (the client retries 429 and 5xx itself).
    with openai.OpenAI(
        base_url=gateway.url + "/v1", api_key=gateway.keys[who], max_retries=0
    ) as client:
        yield client


def last_usage(gateway: LiveGateway) -> tuple:
    [row] = gateway.query(
        "SELECT endpoint, model, status, prompt_tokens, output_tokens FROM gateway_usagerecord "
        "ORDER BY id DESC LIMIT 1"
    )
    return row


def test_a_chat_completion_not_streamed(gateway: LiveGateway):
    gateway.ollama.script_chat("Blue light scatters most.")

    with openai_client(gateway) as client:
        completion = client.chat.completions.create(
            model="llama3.2", messages=[{"role": "user", "content": "Why is the sky blue?"}]
        )

    assert completion.choices[0].message.content == "Blue light scatters most."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 4
    assert last_usage(gateway) == ("/v1/chat/completions", "llama3.2", "complete", 5, 4)


def test_a_streamed_completion_gets_no_usage_chunk_it_did_not_ask_for_but_usage_is_recorded(
    gateway: LiveGateway,
):
    gateway.ollama.script_chat(["Blue", " light", " scatters"])

    with openai_client(gateway) as client:
        chunks = list(
            client.chat.completions.create(
                model="llama3.2", messages=[{"role": "user", "content": "why"}], stream=True
            )
        )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Blue light scatters"
    assert all(c.choices for c in chunks)  # no usage-only chunk
    assert chunks[-1].choices[0].finish_reason == "stop"
    # The gateway asked Ollama for the counts on the caller's behalf.
    [sent] = gateway.ollama.requests_to("/v1/chat/completions")
    assert sent.body["stream_options"] == {"include_usage": True}
    assert last_usage(gateway)[2:] == ("complete", 1, 3)


def test_a_streamed_completion_that_asks_for_usage_gets_it(gateway: LiveGateway):
    gateway.ollama.script_chat(["Yes", "."])

    with openai_client(gateway) as client:
        chunks = list(
            client.chat.completions.create(
                model="llama3.2",
                messages=[{"role": "user", "content": "ok?"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )

    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0].completion_tokens == 2
    assert chunks[-1].choices == []


def test_a_text_completion_streamed_and_not(gateway: LiveGateway):
    # What editor plugins use for code completion: Ollama answers it from /api/generate.
    gateway.ollama.script_generate("return a + b", once=True)
    gateway.ollama.script_generate(["return", " a", " +", " b"], once=True)

    with openai_client(gateway) as client:
        whole = client.completions.create(model="llama3.2", prompt="def add(a, b):")
        whole_usage = last_usage(gateway)
        chunks = list(client.completions.create(model="llama3.2", prompt="def add", stream=True))

    assert (whole.object, whole.choices[0].text) == ("text_completion", "return a + b")
    assert whole.choices[0].finish_reason == "stop"
    assert whole_usage == ("/v1/completions", "llama3.2", "complete", 3, 4)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "return a + b"
    assert all(c.choices for c in chunks)  # the usage chunk the gateway asked for is not passed on
    assert chunks[-1].choices[0].finish_reason == "stop"
    [_, sent] = gateway.ollama.requests_to("/v1/completions")
    assert sent.body["stream_options"] == {"include_usage": True}
    assert last_usage(gateway) == ("/v1/completions", "llama3.2", "complete", 2, 4)


def test_embeddings_and_models(gateway: LiveGateway):
    with openai_client(gateway) as client:
        embedded = client.embeddings.create(model="nomic-embed-text", input=["a", "b c"])
        models = client.models.list()

    assert [len(item.embedding) for item in embedded.data] == [16, 16]
    assert embedded.usage.prompt_tokens == 3
    assert {model.id for model in models.data} == {"llama3.2:latest", "nomic-embed-text:latest"}
    assert last_usage(gateway) == ("/v1/embeddings", "nomic-embed-text", "complete", 3, 0)


def test_a_bad_key_is_an_authentication_error_in_openais_shape(gateway: LiveGateway):
    with (
        openai.OpenAI(base_url=gateway.url + "/v1", api_key="cs-wrong", max_retries=0) as client,
        pytest.raises(openai.AuthenticationError) as refused,
    ):
        client.models.list()

    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"
    assert "API key is not valid" in refused.value.message


def test_an_unknown_model_is_ollamas_404(gateway: LiveGateway):
    with openai_client(gateway) as client, pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )

    assert missing.value.body == {
        "message": "model 'no-such-model' not found",
        "type": "not_found_error",
        "param": None,
        "code": None,
    }


def test_retrieving_one_model_goes_to_ollamas_own_answer(gateway: LiveGateway):
    # The stand-in has no /v1/models/<name> route; this is Ollama's answer for it (ToModel).
    gateway.ollama.script_raw(
        "/v1/models/llama3.2:latest",
        b'{"id":"llama3.2:latest","object":"model","created":1767600000,"owned_by":"library"}',
    )

    with openai_client(gateway) as client:
        model = client.models.retrieve("llama3.2:latest")

    assert (model.id, model.owned_by) == ("llama3.2:latest", "library")
    [sent] = gateway.ollama.requests_to("/v1/models/llama3.2:latest")
    assert sent.method == "GET" and "authorization" not in sent.headers


def test_a_stream_cut_off_by_the_server_ends_with_an_error_the_client_raises(
    gateway: LiveGateway,
):
    gateway.ollama.script_chat(["a", " b", " c"], failure=Failure.drop_mid_stream(2))

    with openai_client(gateway) as client, pytest.raises(openai.APIError) as lost:
        for _ in client.chat.completions.create(
            model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            pass

    assert "lost the connection to the Ollama server mid-reply" in lost.value.message
