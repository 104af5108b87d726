"""Talking to the team's Ollama servers. The client moved here unchanged from chatsite/ollama.py;
importing from chatsite.ollama keeps working.
"""

from __future__ import annotations

from .client import (
    DEFAULT_NAMESPACE,
    DEFAULT_REGISTRY,
    MAX_LINE_BYTES,
    ChatChunk,
    ChatMessage,
    ChatMetrics,
    GenerateResult,
    InstalledModel,
    ModelDetails,
    ModelInfo,
    ModelNotFound,
    OllamaClient,
    OllamaError,
    OllamaResponseError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaTimeouts,
    OllamaUnreachable,
    PullProgress,
    RunningModel,
    configured_hosts,
    is_valid_model_name,
    normalise_model_name,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_REGISTRY",
    "MAX_LINE_BYTES",
    "ChatChunk",
    "ChatMessage",
    "ChatMetrics",
    "GenerateResult",
    "InstalledModel",
    "ModelDetails",
    "ModelInfo",
    "ModelNotFound",
    "OllamaClient",
    "OllamaError",
    "OllamaResponseError",
    "OllamaStreamError",
    "OllamaTimeout",
    "OllamaTimeouts",
    "OllamaUnreachable",
    "PullProgress",
    "RunningModel",
    "configured_hosts",
    "is_valid_model_name",
    "normalise_model_name",
]
