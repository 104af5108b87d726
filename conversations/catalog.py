"""Which models a user can chat with right now: Ollama's installed models and what they can do."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from chatsite.ollama import InstalledModel, OllamaClient, OllamaError


@dataclass(frozen=True)
class ModelChoice:
    name: str
    parameter_size: str
    thinking: bool


@dataclass(frozen=True)
class ModelCatalog:
    host: str
    models: tuple[ModelChoice, ...]
    error: str = ""

    @property
    def reachable(self) -> bool:
        return not self.error

    def find(self, name: str) -> ModelChoice | None:
        wanted = normalise_model_name(name)
        return next((m for m in self.models if normalise_model_name(m.name) == wanted), None)


def normalise_model_name(name: str) -> str:
    """Ollama matches names case-insensitively and adds ':latest' when no tag is given."""
    name = name.strip().lower()
    last_part = name.rsplit("/", 1)[-1]
    return name if ":" in last_part else f"{name}:latest"


async def load_catalog() -> ModelCatalog:
    client = OllamaClient()
    try:
        async with client:
            installed = await client.list_models()
            thinking = await asyncio.gather(*(_supports_thinking(client, m) for m in installed))
    except OllamaError as error:
        return ModelCatalog(host=client.host, models=(), error=str(error))
    choices = tuple(
        ModelChoice(m.name, m.details.parameter_size, can_think)
        for m, can_think in zip(installed, thinking, strict=True)
    )
    return ModelCatalog(host=client.host, models=choices)


async def _supports_thinking(client: OllamaClient, model: InstalledModel) -> bool:
    # Newer servers list capabilities in /api/tags; older ones only in /api/show.
    if model.capabilities:
        return "thinking" in model.capabilities
    try:
        return (await client.show(model.name)).supports_thinking
    except OllamaError:
        return False
