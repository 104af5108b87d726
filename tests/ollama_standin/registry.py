"""The stand-in's installed and loaded models, and the methods tests call to install, load and
remove them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .names import name_key, parse_name
from .wire import local_now


@dataclass
class Model:
    name: str
    family: str
    families: tuple[str, ...] | None
    parameter_size: str
    quantization_level: str
    size: int
    capabilities: tuple[str, ...]
    context_length: int
    template: str
    license: str
    parameters: str
    system: str
    modified_at: datetime
    digest: str

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": None if self.families is None else list(self.families),
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }


@dataclass
class Loaded:
    model: Model
    size_vram: int
    expires_at: datetime


class ModelRegistry:
    """OllamaStandin's model methods (a mixin); its condition guards the models."""

    _cond: threading.Condition
    _models: dict[str, Model]
    _loaded: dict[str, Loaded]

    def add_model(
        self,
        name: str,
        *,
        family: str = "llama",
        families: Sequence[str] | None = (),
        parameter_size: str = "3.2B",
        quantization_level: str = "Q4_K_M",
        size: int = 2_019_393_189,
        capabilities: Sequence[str] = ("completion",),
        context_length: int = 131072,
        template: str = "{{ .Prompt }}",
        license: str = "",
        parameters: str = "",
        system: str = "",
        modified_at: datetime | None = None,
    ) -> None:
        """Install a model. `families` () means [family]; None is sent as JSON null, as some
        models report. `modified_at` defaults to now, in local time with its offset."""
        parsed = parse_name(name)
        if parsed is None:
            raise ValueError(f"{name!r} is not a valid Ollama model name")
        model = Model(
            name=parsed.display,
            family=family,
            families=None if families is None else (tuple(families) or (family,)),
            parameter_size=parameter_size,
            quantization_level=quantization_level,
            size=size,
            capabilities=tuple(capabilities),
            context_length=context_length,
            template=template,
            license=license,
            parameters=parameters,
            system=system,
            modified_at=modified_at or local_now(),
            digest=hashlib.sha256(f"manifest:{parsed.key}".encode()).hexdigest(),
        )
        with self._cond:
            self._models[parsed.key] = model
            self._cond.notify_all()

    def remove_model(self, name: str) -> None:
        key = name_key(name)
        with self._cond:
            self._models.pop(key, None)
            self._loaded.pop(key, None)
            self._cond.notify_all()

    def load_model(
        self, name: str, *, size_vram: int | None = None, keep_alive_seconds: float = 300
    ) -> None:
        key = name_key(name)
        with self._cond:
            model = self._models.get(key)
            if model is None:
                raise ValueError(f"add_model({name!r}) before loading it")
            self._load(key, model, keep_alive_seconds, size_vram)

    def _load(
        self, key: str, model: Model, keep_alive: float | None, size_vram: int | None = None
    ) -> None:
        previous = self._loaded.get(key)
        if keep_alive is None:
            expires = previous.expires_at if previous else local_now() + timedelta(minutes=5)
        elif keep_alive < 0:
            expires = local_now() + timedelta(days=365 * 292)  # Go saturates at ~292 years
        else:
            expires = local_now() + timedelta(seconds=keep_alive)
        vram = size_vram if size_vram is not None else previous.size_vram if previous else None
        self._loaded[key] = Loaded(model, model.size if vram is None else vram, expires)
        self._cond.notify_all()
