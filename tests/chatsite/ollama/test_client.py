"""Contract tests for chatsite.ollama.client: the client against the stand-in, one real loopback
server per test, for every operation and every way Ollama can fail."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chatsite.ollama import (
    MAX_LINE_BYTES,
    ChatChunk,
    ChatMessage,
    ModelNotFound,
    OllamaClient,
    OllamaResponseError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaTimeouts,
    OllamaUnreachable,
    PullProgress,
)
from tests.ollama_standin import (
    BUSY_MESSAGE,
    RUNNER_FAILURE,
    UNKNOWN_MANIFEST,
    Failure,
    OllamaStandin,
    running_standin,
)

# Generous everywhere except where a test shortens one on purpose.
TIMEOUTS = OllamaTimeouts(connect=2.0, request=5.0, load=5.0, stream=5.0)
HELLO = [ChatMessage("user", "Why is the sky blue?")]


@pytest.fixture
def standin() -> Iterator[OllamaStandin]:
    with running_standin() as server:
        server.add_model("llama3.2")
        server.add_model(
            "qwen3:8b",
            family="qwen3",
            capabilities=("completion", "thinking"),
            context_length=40960,
        )
        yield server


def client(standin: OllamaStandin, **timeouts: float) -> OllamaClient:
    return OllamaClient(standin.url, timeouts=replace(TIMEOUTS, **timeouts))


async def collect(stream) -> list:
    return [item async for item in stream]


async def chat_until_error(ollama: OllamaClient, chunks: list[ChatChunk], **kwargs) -> None:
    async for chunk in ollama.chat("llama3.2", HELLO, **kwargs):
        chunks.append(chunk)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def only_request(standin: OllamaStandin, path: str):
    [request] = standin.requests_to(path)
    return request


# -- plain calls ----------------------------------------------------------------------------


async def test_version_returns_the_servers_version_string():
    with running_standin(version="0.33.1") as server:
        async with client(server) as ollama:
            assert await ollama.version() == "0.33.1"


async def test_a_closed_port_raises_unreachable_naming_the_host():
    host = f"http://127.0.0.1:{closed_port()}"
    async with OllamaClient(host, timeouts=TIMEOUTS) as ollama:
        with pytest.raises(OllamaUnreachable) as caught:
            await ollama.version()
    assert caught.value.status is None
    assert caught.value.host == host
    assert str(caught.value) == f"Ollama is not reachable at {host}"


async def test_a_stream_to_a_closed_port_raises_unreachable_too():
    async with OllamaClient(f"http://127.0.0.1:{closed_port()}", timeouts=TIMEOUTS) as ollama:
        with pytest.raises(OllamaUnreachable):
            await collect(ollama.chat("llama3.2", HELLO))


@pytest.mark.parametrize("host", ["ftp://127.0.0.1:1", "127.0.0.1:11434", "http://[::1"])
async def test_a_host_that_is_not_an_http_url_raises_unreachable(host):
    with pytest.raises(OllamaUnreachable) as caught:
        async with OllamaClient(host, timeouts=TIMEOUTS) as ollama:
            await ollama.version()
    assert str(caught.value) == f"Ollama is not reachable at {host}"


async def test_list_models_reads_every_field(standin):
    modified = datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    standin.add_model(
        "myns/coder:7b",
        family="qwen2",
        parameter_size="7.6B",
        quantization_level="Q8_0",
        size=8_098_525_888,
        capabilities=("completion", "tools", "insert"),
        modified_at=modified,
    )
    async with client(standin) as ollama:
        models = {model.name: model for model in await ollama.list_models()}
    assert set(models) == {"llama3.2:latest", "qwen3:8b", "myns/coder:7b"}
    coder = models["myns/coder:7b"]
    assert coder.model == "myns/coder:7b"
    assert coder.size == 8_098_525_888
    assert len(coder.digest) == 64
    assert coder.modified_at == modified  # 9 fractional digits and an offset, read exactly
    assert coder.capabilities == ("completion", "tools", "insert")
    assert coder.details.format == "gguf"
    assert coder.details.family == "qwen2"
    assert coder.details.families == ("qwen2",)
    assert coder.details.parameter_size == "7.6B"
    assert coder.details.quantization_level == "Q8_0"


async def test_list_models_is_empty_when_nothing_is_installed():
    with running_standin() as server:
        async with client(server) as ollama:
            assert await ollama.list_models() == []


async def test_list_models_accepts_families_null(standin):
    standin.add_model("bert-ish", families=None)
    async with client(standin) as ollama:
        [model] = [m for m in await ollama.list_models() if m.name == "bert-ish:latest"]
    assert model.details.families == ()


async def test_running_models_lists_what_is_loaded_with_vram_and_expiry(standin):
    standin.load_model("llama3.2", size_vram=1_000_000_000, keep_alive_seconds=600)
    async with client(standin) as ollama:
        [running] = await ollama.running_models()
    assert running.name == running.model == "llama3.2:latest"
    assert running.size == 2_019_393_189
    assert running.size_vram == 1_000_000_000
    assert running.context_length == 4096
    assert running.details.family == "llama"
    assert running.expires_at is not None
    remaining = running.expires_at - datetime.now(UTC)
    assert timedelta(minutes=9) < remaining <= timedelta(minutes=10)


async def test_show_reports_capabilities_context_length_and_texts(standin):
    standin.add_model(
        "qwen3:14b",
        family="qwen3",
        capabilities=("completion", "thinking", "tools"),
        context_length=40960,
        license="Apache 2.0",
        parameters='stop "<|im_end|>"',
        system="You are helpful.",
        template="{{ .System }}{{ .Prompt }}",
    )
    async with client(standin) as ollama:
        info = await ollama.show("qwen3:14b")
        plain = await ollama.show("llama3.2")
    assert info.name == "qwen3:14b"
    assert info.capabilities == ("completion", "thinking", "tools")
    assert info.supports_thinking
    assert info.context_length == 40960
    assert info.model_info["general.architecture"] == "qwen3"
    assert info.license == "Apache 2.0"
    assert info.parameters == 'stop "<|im_end|>"'
    assert info.system == "You are helpful."
    assert info.template == "{{ .System }}{{ .Prompt }}"
    assert info.modelfile.startswith('# Modelfile generated by "ollama show"')
    assert info.details.family == "qwen3"
    assert info.modified_at is not None
    assert not plain.supports_thinking
    assert plain.license == plain.system == ""
    assert plain.context_length == 131072


async def test_show_of_a_missing_model_raises_model_not_found(standin):
    async with client(standin) as ollama:
        with pytest.raises(ModelNotFound) as caught:
            await ollama.show("mistral")
    error = caught.value
    assert error.status == 404
    assert error.model == "mistral"
    assert error.message == "model 'mistral:latest' not found"
    assert str(error) == f"Model 'mistral' is not installed on Ollama at {standin.url}"


# -- chat -----------------------------------------------------------------------------------


async def test_chat_streams_every_token_then_a_done_chunk_with_metrics(standin):
    standin.script_chat("Rayleigh scattering, mostly.")
    async with client(standin) as ollama:
        chunks = await collect(ollama.chat("llama3.2", HELLO))
    assert [chunk.content for chunk in chunks] == ["Rayleigh", " scattering,", " mostly.", ""]
    assert [chunk.done for chunk in chunks] == [False, False, False, True]
    assert all(chunk.metrics is None and chunk.done_reason is None for chunk in chunks[:-1])
    final = chunks[-1]
    assert final.done_reason == "stop"
    assert final.metrics is not None
    assert final.metrics.eval_count == 3
    assert final.metrics.prompt_eval_count > 0
    assert final.metrics.total_duration >= final.metrics.eval_duration > 0
    assert final.metrics.tokens_per_second == pytest.approx(3 / final.metrics.eval_duration * 1e9)
    # The server marks the request finished once its last bytes are out, a moment after the
    # client has read them.
    await standin.await_for(lambda s: only_request(s, "/api/chat").finished)


async def test_chat_sends_what_ollama_expects_and_omits_what_is_unset(standin):
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "2+2?"),
        ChatMessage("assistant", "4", thinking="Easy."),
        ChatMessage("user", "And 3+3?"),
    ]
    async with client(standin) as ollama:
        await collect(ollama.chat("llama3.2", messages))
        await collect(
            ollama.chat(
                "llama3.2", messages, options={"temperature": 0.2}, think=False, keep_alive="10m"
            )
        )
    plain, tuned = (request.body for request in standin.requests_to("/api/chat"))
    assert plain == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "thinking": "Easy."},
            {"role": "user", "content": "And 3+3?"},
        ],
        "stream": True,
    }
    assert tuned["options"] == {"temperature": 0.2}
    assert tuned["think"] is False
    assert tuned["keep_alive"] == "10m"


async def test_chat_with_a_thinking_model_streams_thinking_before_content(standin):
    standin.script_chat("2 + 2 = 4", thinking="Simple arithmetic.", model="qwen3:8b")
    async with client(standin) as ollama:
        chunks = await collect(ollama.chat("qwen3:8b", HELLO))
    assert [(c.thinking, c.content) for c in chunks[:-1]] == [
        ("Simple", ""),
        (" arithmetic.", ""),
        ("", "2"),
        ("", " +"),
        ("", " 2"),
        ("", " ="),
        ("", " 4"),
    ]
    assert chunks[-1].done
    assert "think" not in only_request(standin, "/api/chat").body  # omitted means on


async def test_think_on_a_model_without_thinking_raises_response_error_400(standin):
    async with client(standin) as ollama:
        with pytest.raises(OllamaResponseError) as caught:
            await collect(ollama.chat("llama3.2", HELLO, think=True))
    assert caught.value.status == 400
    assert caught.value.message == '"llama3.2" does not support thinking'


async def test_chat_with_an_unknown_model_raises_model_not_found(standin):
    async with client(standin) as ollama:
        with pytest.raises(ModelNotFound) as caught:
            await collect(ollama.chat("foo", HELLO))
    assert caught.value.model == "foo"
    assert caught.value.message == "model 'foo' not found"
    assert str(caught.value) == f"Model 'foo' is not installed on Ollama at {standin.url}"


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        (Failure.status(500, RUNNER_FAILURE), 500, RUNNER_FAILURE),
        (Failure.status(503), 503, BUSY_MESSAGE),
        (Failure.error_mid_stream(after_tokens=0), 500, RUNNER_FAILURE),
    ],
)
async def test_a_failure_before_the_stream_raises_response_error_with_status_and_message(
    standin, failure, status, message
):
    standin.script_chat(failure=failure)
    async with client(standin) as ollama:
        with pytest.raises(OllamaResponseError) as caught:
            await collect(ollama.chat("llama3.2", HELLO))
    assert caught.value.status == status
    assert caught.value.message == message
    assert str(caught.value) == f"Ollama at {standin.url} answered {status}: {message}"


async def test_an_error_line_mid_stream_raises_stream_error_after_the_tokens_before_it(standin):
    standin.script_chat("Once upon a time", failure=Failure.error_mid_stream(after_tokens=2))
    chunks: list[ChatChunk] = []
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError) as caught:
            await chat_until_error(ollama, chunks)
    assert [chunk.content for chunk in chunks] == ["Once", " upon"]
    assert caught.value.status == 200
    assert caught.value.message == RUNNER_FAILURE
    assert str(caught.value) == f"Ollama at {standin.url} failed mid-reply: {RUNNER_FAILURE}"


async def test_a_dropped_connection_mid_stream_raises_stream_error(standin):
    standin.script_chat("Once upon a time", failure=Failure.drop_mid_stream(after_tokens=2))
    chunks: list[ChatChunk] = []
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError) as caught:
            await chat_until_error(ollama, chunks)
    assert [chunk.content for chunk in chunks] == ["Once", " upon"]
    assert "connection was lost" in caught.value.message


async def test_a_body_that_ends_without_a_done_line_raises_stream_error(standin):
    standin.script_raw(
        "/api/chat",
        b'{"model":"llama3.2","message":{"role":"assistant","content":"Hi"},"done":false}\n',
        content_type="application/x-ndjson",
    )
    chunks: list[ChatChunk] = []
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError, match="connection was lost"):
            await chat_until_error(ollama, chunks)
    assert [chunk.content for chunk in chunks] == ["Hi"]


async def test_a_malformed_line_raises_stream_error(standin):
    standin.script_chat("Once upon a time", failure=Failure.malformed_line(after_tokens=1))
    chunks: list[ChatChunk] = []
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError, match="not valid JSON"):
            await chat_until_error(ollama, chunks)
    assert [chunk.content for chunk in chunks] == ["Once"]


async def test_a_line_of_the_wrong_shape_raises_stream_error(standin):
    standin.script_raw(
        "/api/chat",
        b'{"model":"llama3.2","message":{"role":"assistant","content":7},"done":false}\n',
        content_type="application/x-ndjson",
    )
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError, match="could not be read"):
            await collect(ollama.chat("llama3.2", HELLO))


async def test_a_line_longer_than_8_mb_raises_stream_error(standin):
    standin.script_chat("Once upon", failure=Failure.long_line(1, size=MAX_LINE_BYTES + 1))
    chunks: list[ChatChunk] = []
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError, match="longer than 8 MB"):
            await chat_until_error(ollama, chunks)
    assert [chunk.content for chunk in chunks] == ["Once"]


async def test_silence_after_the_first_token_raises_timeout_and_hangs_up(standin):
    standin.script_chat("Once upon a time", failure=Failure.hang(after_tokens=1))
    chunks: list[ChatChunk] = []
    async with client(standin, stream=0.2) as ollama:
        with pytest.raises(OllamaTimeout) as caught:
            await chat_until_error(ollama, chunks)
    assert [chunk.content for chunk in chunks] == ["Once"]
    assert str(caught.value) == (
        f"Ollama at {standin.url} went silent for more than 0.2 seconds mid-reply"
    )
    await standin.await_for(lambda s: s.requests_to("/api/chat")[0].client_disconnected)


async def test_a_first_token_slower_than_the_load_timeout_raises_timeout(standin):
    standin.script_chat(first_token_delay=30)
    async with client(standin, load=0.2) as ollama:
        with pytest.raises(OllamaTimeout) as caught:
            await collect(ollama.chat("llama3.2", HELLO))
    assert "did not start replying within 0.2 seconds" in str(caught.value)
    await standin.await_for(lambda s: s.requests_to("/api/chat")[0].client_disconnected)


async def test_breaking_out_of_a_chat_closes_the_response_and_ollama_stops(standin):
    standin.script_chat(["tok"] * 200, token_delay=0.01)
    async with client(standin) as ollama:
        async with contextlib.aclosing(ollama.chat("llama3.2", HELLO)) as chunks:
            async for chunk in chunks:
                if chunk.content and standin.tokens_sent() >= 2:
                    break
        await standin.await_for(lambda s: s.requests_to("/api/chat")[0].ended)
    request = only_request(standin, "/api/chat")
    assert request.client_disconnected
    assert not request.finished
    assert request.tokens < 200


async def test_cancelling_the_task_iterating_a_chat_closes_the_response(standin):
    standin.script_chat(["tok"] * 200, token_delay=0.01)
    chunks: list[ChatChunk] = []
    async with client(standin) as ollama:
        task = asyncio.create_task(chat_until_error(ollama, chunks))
        await standin.await_for(lambda s: s.tokens_sent() >= 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await standin.await_for(lambda s: s.requests_to("/api/chat")[0].ended)
    request = only_request(standin, "/api/chat")
    assert request.client_disconnected
    assert not request.finished
    assert request.tokens < 200


async def test_the_client_can_chat_again_after_an_abandoned_stream(standin):
    standin.script_chat(["tok"] * 50, token_delay=0.01, once=True)
    async with client(standin) as ollama:
        async with contextlib.aclosing(ollama.chat("llama3.2", HELLO)) as chunks:
            await anext(chunks)
        again = await collect(ollama.chat("llama3.2", HELLO))
    assert "".join(chunk.content for chunk in again) == "Hello from the stand-in."


# -- generate -------------------------------------------------------------------------------


async def test_generate_returns_the_whole_response_with_metrics(standin):
    standin.script_generate("Why the sky is blue")
    async with client(standin) as ollama:
        result = await ollama.generate(
            "llama3.2", "Title this chat: ...", system="Reply with a title only.", think=False
        )
    assert result.response == "Why the sky is blue"
    assert result.thinking == ""
    assert result.done_reason == "stop"
    assert result.metrics is not None and result.metrics.eval_count == 5
    assert only_request(standin, "/api/generate").body == {
        "model": "llama3.2",
        "prompt": "Title this chat: ...",
        "stream": False,
        "system": "Reply with a title only.",
        "think": False,
    }


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        (Failure.status(503), 503, BUSY_MESSAGE),
        (Failure.error_mid_stream(after_tokens=1), 500, RUNNER_FAILURE),
    ],
)
async def test_generate_failures_raise_response_error(standin, failure, status, message):
    standin.script_generate(failure=failure)
    async with client(standin) as ollama:
        with pytest.raises(OllamaResponseError) as caught:
            await ollama.generate("llama3.2", "Title this")
    assert (caught.value.status, caught.value.message) == (status, message)


async def test_generate_slower_than_the_load_timeout_raises_timeout(standin):
    standin.script_generate(delay=30)
    async with client(standin, load=0.2) as ollama:
        with pytest.raises(OllamaTimeout, match="did not answer within 0.2 seconds"):
            await ollama.generate("llama3.2", "Title this")
    await standin.await_for(lambda s: s.requests_to("/api/generate")[0].client_disconnected)


async def test_generate_with_an_unknown_model_raises_model_not_found(standin):
    async with client(standin) as ollama:
        with pytest.raises(ModelNotFound):
            await ollama.generate("nope", "Title this")


# -- pull -----------------------------------------------------------------------------------


async def test_pull_reports_progress_in_wire_order_and_installs_the_model(standin):
    standin.script_pull(layers=(2_000_000, 1429), steps_per_layer=3)
    async with client(standin) as ollama:
        progress = await collect(ollama.pull("tinyllama"))
        installed = [model.name for model in await ollama.list_models()]
    assert progress[0] == PullProgress("pulling manifest", None, None, None)
    layers = progress[1:7]
    assert [(p.total, p.completed) for p in layers] == [
        (2_000_000, None),  # `completed` is left out while it is 0
        (2_000_000, 1_000_000),
        (2_000_000, 2_000_000),
        (1429, None),
        (1429, 714),
        (1429, 1429),
    ]
    for step in layers:
        assert step.digest is not None and step.digest.startswith("sha256:")
        assert step.status == f"pulling {step.digest[7:19]}"
    assert [p.status for p in progress[7:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    assert "tinyllama:latest" in installed


async def test_pull_of_an_unknown_model_raises_stream_error_with_ollamas_message(standin):
    standin.script_pull(unknown=True)
    progress: list[PullProgress] = []
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError) as caught:
            async for step in ollama.pull("no-such-model"):
                progress.append(step)
    assert [p.status for p in progress] == ["pulling manifest"]
    assert caught.value.message == UNKNOWN_MANIFEST


async def test_pull_failing_midway_raises_after_the_progress_so_far(standin):
    standin.script_pull(fail_after_steps=3, fail_message="max retries exceeded: unexpected EOF")
    progress: list[PullProgress] = []
    async with client(standin) as ollama:
        with pytest.raises(OllamaStreamError, match="max retries exceeded"):
            async for step in ollama.pull("llama3.1"):
                progress.append(step)
        installed = [model.name for model in await ollama.list_models()]
    assert len(progress) == 4  # the manifest line and three layer steps
    assert "llama3.1:latest" not in installed


async def test_pull_of_an_invalid_name_raises_response_error_400(standin):
    async with client(standin) as ollama:
        with pytest.raises(OllamaResponseError) as caught:
            await collect(ollama.pull("bad name!"))
    assert (caught.value.status, caught.value.message) == (400, "invalid model name")


async def test_closing_a_pull_hangs_up_on_ollama(standin):
    standin.script_pull(hang_after_steps=2)
    async with client(standin) as ollama:
        async with contextlib.aclosing(ollama.pull("llama3.1")) as progress:
            async for step in progress:
                if step.status.startswith("pulling ") and step.completed:
                    break
        await standin.await_for(lambda s: s.requests_to("/api/pull")[0].ended)
    request = only_request(standin, "/api/pull")
    assert request.client_disconnected and not request.finished


async def test_a_stalled_pull_raises_timeout(standin):
    standin.script_pull(hang_after_steps=1)
    async with client(standin, stream=0.2) as ollama:
        with pytest.raises(OllamaTimeout):
            await collect(ollama.pull("llama3.1"))


# -- delete, load, unload -------------------------------------------------------------------


async def test_delete_removes_an_installed_model(standin):
    async with client(standin) as ollama:
        assert await ollama.delete("llama3.2") is None
        names = [model.name for model in await ollama.list_models()]
    assert names == ["qwen3:8b"]
    assert only_request(standin, "/api/delete").body == {"model": "llama3.2"}


async def test_delete_of_a_missing_model_raises_model_not_found(standin):
    async with client(standin) as ollama:
        with pytest.raises(ModelNotFound) as caught:
            await ollama.delete("mistral")
    assert caught.value.message == "model 'mistral' not found"


async def test_delete_of_an_invalid_name_raises_response_error_400(standin):
    async with client(standin) as ollama:
        with pytest.raises(OllamaResponseError) as caught:
            await ollama.delete("bad name!")
    assert (caught.value.status, caught.value.message) == (400, 'name "bad name!" is invalid')


async def test_load_and_unload_show_up_in_running_models(standin):
    async with client(standin) as ollama:
        await ollama.load("qwen3:8b", keep_alive="1h")
        loaded = [model.name for model in await ollama.running_models()]
        await ollama.unload("qwen3:8b")
        after = await ollama.running_models()
    assert loaded == ["qwen3:8b"]
    assert after == []
    load, unload = (request.body for request in standin.requests_to("/api/chat"))
    assert load == {"model": "qwen3:8b", "messages": [], "keep_alive": "1h"}
    assert unload == {"model": "qwen3:8b", "messages": [], "keep_alive": 0}


async def test_loading_an_unknown_model_raises_model_not_found(standin):
    async with client(standin) as ollama:
        with pytest.raises(ModelNotFound):
            await ollama.load("mistral")


# -- replies that are not what Ollama sends -------------------------------------------------


async def test_a_path_prefix_that_is_not_ollama_raises_response_error_with_the_text(standin):
    async with OllamaClient(f"{standin.url}/not-ollama", timeouts=TIMEOUTS) as ollama:
        with pytest.raises(OllamaResponseError) as caught:
            await ollama.version()
    assert (caught.value.status, caught.value.message) == (404, "404 page not found")


@pytest.mark.parametrize(
    "body",
    [b"<html>not json</html>", b"[]", b'{"models":"none"}', b'{"models":[{"name":3}]}'],
)
async def test_a_reply_that_cannot_be_read_raises_an_ollama_error(standin, body):
    standin.script_raw("/api/tags", body)
    async with client(standin) as ollama:
        with pytest.raises(OllamaResponseError, match="could not be read"):
            await ollama.list_models()


async def test_timestamps_are_read_leniently(standin):
    entry = (
        b'{"name":"a:latest","model":"a:latest","size":1,"digest":"d","details":{},'
        b'"expires_at":"%s"}'
    )
    stamps = [
        "2026-01-05T10:00:00.123456789+01:00",
        "2026-01-05T10:00:00Z",
        "0001-01-01T00:00:00Z",
        "yesterday",
    ]
    body = b'{"models":[' + b",".join(entry % s.encode() for s in stamps) + b"]}"
    standin.script_raw("/api/ps", body)
    async with client(standin) as ollama:
        models = await ollama.running_models()
    plus_one = timezone(timedelta(hours=1))
    assert [model.expires_at for model in models] == [
        datetime(2026, 1, 5, 10, 0, 0, 123456, tzinfo=plus_one),
        datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC),
        None,
        None,
    ]
    assert models[0].details.families == ()
    assert models[0].context_length is None


# -- lifetime -------------------------------------------------------------------------------


async def test_using_the_client_outside_async_with_raises_runtime_error(standin):
    ollama = client(standin)
    with pytest.raises(RuntimeError, match="async with"):
        await ollama.version()
    with pytest.raises(RuntimeError, match="async with"):
        ollama.chat("llama3.2", HELLO)
    async with ollama:
        assert await ollama.version() == "0.33.0"
    with pytest.raises(RuntimeError, match="async with"):
        ollama.pull("llama3.2")


async def test_clients_leave_no_open_sockets_behind(standin):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            async with client(standin) as ollama:
                await ollama.version()
                await collect(ollama.chat("llama3.2", HELLO))
                async with contextlib.aclosing(ollama.chat("llama3.2", HELLO)) as chunks:
                    await anext(chunks)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_without_arguments_the_client_reads_host_and_timeouts_from_settings(settings):
    settings.OLLAMA_HOST = "http://ollama.internal:11434"
    settings.OLLAMA_CONNECT_TIMEOUT = 1.5
    settings.OLLAMA_REQUEST_TIMEOUT = 2.5
    settings.OLLAMA_LOAD_TIMEOUT = 3.5
    settings.OLLAMA_STREAM_TIMEOUT = 4.5
    ollama = OllamaClient()
    assert ollama.host == "http://ollama.internal:11434"
    assert ollama.timeouts == OllamaTimeouts(connect=1.5, request=2.5, load=3.5, stream=4.5)
