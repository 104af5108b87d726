"""What the client returns, and the ChatMessage it sends: typed, frozen dataclasses with no
knowledge of HTTP or JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ModelDetails:
    format: str
    family: str
    families: tuple[str, ...]
    parameter_size: str
    quantization_level: str
    context_length: int | None


@dataclass(frozen=True)
class InstalledModel:
    name: str
    model: str
    size: int
    digest: str
    modified_at: datetime | None
    details: ModelDetails
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class RunningModel:
    name: str
    model: str
    size: int
    size_vram: int
    digest: str
    expires_at: datetime | None
    context_length: int | None
    details: ModelDetails


@dataclass(frozen=True)
class ModelInfo:
    """What /api/show tells about one installed model."""

    name: str
    capabilities: tuple[str, ...]
    context_length: int | None
    parameters: str
    template: str
    license: str
    modelfile: str
    system: str
    details: ModelDetails
    model_info: Mapping[str, Any]
    modified_at: datetime | None

    @property
    def supports_thinking(self) -> bool:
        return "thinking" in self.capabilities


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str
    thinking: str = ""
    # Base64-encoded images (PNG or JPEG) for vision models: Ollama's message `images`.
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatMetrics:
    """Ollama's figures for one reply; durations in nanoseconds, 0 when Ollama left them out."""

    total_duration: int
    load_duration: int
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int

    @property
    def tokens_per_second(self) -> float | None:
        if self.eval_count <= 0 or self.eval_duration <= 0:
            return None
        return self.eval_count / self.eval_duration * 1e9


@dataclass(frozen=True)
class ChatChunk:
    content: str
    thinking: str
    done: bool
    done_reason: str | None
    metrics: ChatMetrics | None


@dataclass(frozen=True)
class GenerateResult:
    response: str
    thinking: str
    done_reason: str | None
    metrics: ChatMetrics | None


@dataclass(frozen=True)
class PullProgress:
    """One line of a pull's or a create's progress (a create of a missing base pulls it)."""

    status: str
    digest: str | None
    total: int | None
    completed: int | None


@dataclass(frozen=True)
class CreateRequest:
    """A model made from an installed one (Ollama's JSON create): only what is set is sent;
    `parameters` are Modelfile PARAMETERs (`stop` a list of strings)."""

    model: str
    base: str
    system: str = ""
    parameters: Mapping[str, Any] | None = None
    template: str = ""
    license: str = ""
    quantize: str = ""

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.model, "from": self.base, "stream": True}
        for key in ("system", "template", "license", "quantize"):
            if value := getattr(self, key):
                payload[key] = value
        if self.parameters:
            payload["parameters"] = dict(self.parameters)
        return payload
