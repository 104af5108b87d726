"""Talking to the team's Ollama servers: the client (the only code that imports httpx), the typed
results, the error hierarchy and model names. Import from here; the modules are the layout.
"""

from __future__ import annotations

from .client import OllamaClient, OllamaTimeouts, configured_hosts
from .errors import (
    ModelNotFound,
    OllamaError,
    OllamaResponseError,
    OllamaStreamError,
    OllamaTimeout,
    OllamaUnreachable,
)
from .names import (
    DEFAULT_NAMESPACE,
    DEFAULT_REGISTRY,
    is_valid_model_name,
    normalise_model_name,
)
from .passthrough import Upstream, close_pools, fetch, upstream
from .results import (
    ChatChunk,
    ChatMessage,
    ChatMetrics,
    CreateRequest,
    GenerateResult,
    InstalledModel,
    ModelDetails,
    ModelInfo,
    PullProgress,
    RunningModel,
)
from .wire import MAX_LINE_BYTES

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_REGISTRY",
    "MAX_LINE_BYTES",
    "ChatChunk",
    "ChatMessage",
    "ChatMetrics",
    "CreateRequest",
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
    "Upstream",
    "close_pools",
    "configured_hosts",
    "fetch",
    "is_valid_model_name",
    "normalise_model_name",
    "upstream",
]
