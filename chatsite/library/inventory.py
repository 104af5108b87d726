"""What Ollama has right now (version, installed models, models in memory), fetched in one go
for the page and its live refreshes; failures become plain sentences, never exceptions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from chatsite.library.models import normalise_model_name
from chatsite.ollama import InstalledModel, OllamaClient, OllamaError, RunningModel

# A negative keep_alive makes Ollama report an expiry about 292 years away.
_FOREVER = timedelta(days=365 * 100)


@dataclass(frozen=True)
class LoadedModel:
    model: RunningModel
    stays_loaded: bool  # keep_alive was negative: no unload time

    @property
    def gpu_percent(self) -> int:
        if self.model.size <= 0:
            return 0
        return min(100, round(self.model.size_vram * 100 / self.model.size))

    @property
    def unloads_at(self) -> datetime | None:
        return None if self.stays_loaded else self.model.expires_at


@dataclass(frozen=True)
class Inventory:
    host: str
    version: str = ""
    error: str = ""  # set when Ollama could not be reached at all
    installed: list[InstalledModel] = field(default_factory=list)
    installed_error: str = ""
    loaded: list[LoadedModel] = field(default_factory=list)
    loaded_error: str = ""

    @property
    def reachable(self) -> bool:
        return not self.error

    def installed_model(self, name: str) -> InstalledModel | None:
        wanted = normalise_model_name(name)
        return next((m for m in self.installed if normalise_model_name(m.name) == wanted), None)


async def fetch_inventory(client_factory: Callable[[], OllamaClient] = OllamaClient) -> Inventory:
    async with client_factory() as ollama:
        try:
            version = await ollama.version()
        except OllamaError as error:
            return Inventory(host=ollama.host, error=str(error))
        installed: list[InstalledModel] = []
        loaded: list[LoadedModel] = []
        installed_error = loaded_error = ""
        try:
            installed = await ollama.list_models()
        except OllamaError as error:
            installed_error = str(error)
        try:
            now = timezone.now()
            loaded = [
                LoadedModel(m, stays_loaded=bool(m.expires_at and m.expires_at - now > _FOREVER))
                for m in await ollama.running_models()
            ]
        except OllamaError as error:
            loaded_error = str(error)
    return Inventory(
        host=ollama.host,
        version=version,
        installed=installed,
        installed_error=installed_error,
        loaded=loaded,
        loaded_error=loaded_error,
    )
