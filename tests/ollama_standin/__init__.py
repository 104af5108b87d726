"""A faithful Ollama stand-in: a real HTTP/1.1 server on 127.0.0.1, run from its own thread, that
speaks Ollama's wire protocol (streams, errors, pulls, disconnects) with scriptable replies.
Standard library only; `python -m tests.ollama_standin --port 11434` serves a demo.
"""

from __future__ import annotations

from .failures import BUSY_MESSAGE, RUNNER_FAILURE, UNKNOWN_MANIFEST, Failure
from .recording import RecordedRequest
from .scripts import split_tokens
from .server import OllamaStandin, running_standin
from .vision import ReceivedImage, received_images

__all__ = [
    "BUSY_MESSAGE",
    "RUNNER_FAILURE",
    "UNKNOWN_MANIFEST",
    "Failure",
    "OllamaStandin",
    "ReceivedImage",
    "RecordedRequest",
    "running_standin",
    "received_images",
    "split_tokens",
]
