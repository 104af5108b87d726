"""httpx's line per request to Ollama is DEBUG, not INFO: a real request through our client to the
stand-in, logged at the site's default level and at DEBUG."""

from __future__ import annotations

import logging

import pytest

from chatsite.ollama import OllamaClient
from tests.ollama_standin import running_standin


async def ask_version() -> None:
    with running_standin() as server:
        async with OllamaClient(server.url) as ollama:
            await ollama.version()


def httpx_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("httpx")]


async def test_at_the_default_info_level_httpx_logs_no_line_per_request(
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.INFO)
    await ask_version()
    assert httpx_records(caplog) == []


async def test_at_debug_level_the_request_line_is_there_as_a_debug_record(
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    await ask_version()
    [line] = [r for r in httpx_records(caplog) if r.getMessage().startswith("HTTP Request")]
    assert line.levelno == logging.DEBUG and line.levelname == "DEBUG"
    assert "/api/version" in line.getMessage()


async def test_httpx_warnings_still_come_through(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.INFO)
    logging.getLogger("httpx").warning("something is wrong")
    [record] = httpx_records(caplog)
    assert record.levelno == logging.WARNING
