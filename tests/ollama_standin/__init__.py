"""The Ollama stand-in, moved here unchanged from tests/ollama_standin.py; importing from
tests.ollama_standin keeps working.
"""

from __future__ import annotations

from .server import (
    BUSY_MESSAGE,
    RUNNER_FAILURE,
    UNKNOWN_MANIFEST,
    Failure,
    OllamaStandin,
    RecordedRequest,
    running_standin,
    split_tokens,
)

__all__ = [
    "BUSY_MESSAGE",
    "RUNNER_FAILURE",
    "UNKNOWN_MANIFEST",
    "Failure",
    "OllamaStandin",
    "RecordedRequest",
    "running_standin",
    "split_tokens",
]
