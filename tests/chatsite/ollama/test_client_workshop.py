"""Contract tests of the client's create and copy against the stand-in: the status lines of a
create, Ollama's own message when one fails, and copy's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from chatsite.ollama import (
    CreateRequest,
    ModelNotFound,
    OllamaClient,
    OllamaResponseError,
    OllamaStreamError,
    OllamaTimeouts,
    PullProgress,
)
from tests.ollama_standin import UNKNOWN_MANIFEST, OllamaStandin, running_standin

TIMEOUTS = OllamaTimeouts(connect=2.0, request=5.0, load=5.0, stream=5.0)


@pytest.fixture
def standin() -> Iterator[OllamaStandin]:
    with running_standin() as server:
        server.add_model("llama3.2")
        yield server


async def collect(steps: AsyncIterator[PullProgress]) -> list[PullProgress]:
    return [step async for step in steps]


async def test_create_streams_status_lines_and_sends_only_what_is_set(standin):
    request = CreateRequest(
        model="reviewer", base="llama3.2", system="Review.", parameters={"temperature": 0.3}
    )
    async with OllamaClient(standin.url, timeouts=TIMEOUTS) as ollama:
        steps = await collect(ollama.create(request))
        info = await ollama.show("reviewer")
    assert steps[-1] == PullProgress("success", None, None, None)
    assert "writing manifest" in [step.status for step in steps]
    [sent] = standin.requests_to("/api/create")
    assert sent.body == {
        "model": "reviewer",
        "from": "llama3.2",
        "stream": True,
        "system": "Review.",
        "parameters": {"temperature": 0.3},
    }
    assert info.system == "Review."
    assert "temperature" in info.parameters


async def test_create_from_a_missing_base_raises_with_ollamas_message(standin):
    progress: list[PullProgress] = []
    async with OllamaClient(standin.url, timeouts=TIMEOUTS) as ollama:
        with pytest.raises(OllamaStreamError) as failure:
            async for step in ollama.create(CreateRequest(model="r", base="ghost")):
                progress.append(step)
    assert [step.status for step in progress] == ["pulling manifest"]
    assert failure.value.message == UNKNOWN_MANIFEST


async def test_create_with_an_invalid_name_raises_a_400(standin):
    async with OllamaClient(standin.url, timeouts=TIMEOUTS) as ollama:
        with pytest.raises(OllamaResponseError) as failure:
            await collect(ollama.create(CreateRequest(model="bad name!", base="llama3.2")))
    assert (failure.value.status, failure.value.message) == (400, "invalid model name")


async def test_create_cut_off_mid_stream_is_a_lost_stream(standin):
    standin.script_create(drop_after_steps=0)
    async with OllamaClient(standin.url, timeouts=TIMEOUTS) as ollama:
        with pytest.raises(OllamaStreamError, match="connection was lost"):
            await collect(ollama.create(CreateRequest(model="r", base="llama3.2")))


async def test_copy_copies_and_names_a_missing_source(standin):
    async with OllamaClient(standin.url, timeouts=TIMEOUTS) as ollama:
        await ollama.copy("llama3.2", "mine")
        names = [m.name for m in await ollama.list_models()]
        with pytest.raises(ModelNotFound) as missing:
            await ollama.copy("ghost", "other")
    assert "mine:latest" in names
    assert missing.value.message == 'model "ghost" not found'
