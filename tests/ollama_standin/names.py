"""Model names as Ollama's types/model/name.go parses them: [host/][namespace/]model[:tag], with
defaults filled in, matched case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DEFAULT_HOST = "registry.ollama.ai"
_DEFAULT_NAMESPACE = "library"
_PART = {
    "host": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}"),
    "namespace": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}"),
    "model": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"),
    "tag": re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"),
}


@dataclass(frozen=True)
class ModelName:
    host: str
    namespace: str
    model: str
    tag: str

    @property
    def display(self) -> str:
        """Name.DisplayShortest: drop the default host and namespace."""
        if self.host == _DEFAULT_HOST:
            if self.namespace == _DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def key(self) -> str:
        # Ollama matches installed models case-insensitively.
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}".lower()


def parse_name(text: str) -> ModelName | None:
    missing = "\0"  # stands for a part a separator promised but that is empty: never valid
    rest, tag = text, ""
    if rest.rfind(":") > rest.rfind("/"):
        rest, _, tag = rest.rpartition(":")
        tag = tag or missing
    parts = {"host": "", "namespace": "", "model": rest, "tag": tag}
    before, sep, after = rest.rpartition("/")
    if sep:
        parts["model"] = after or missing
        host, sep, namespace = (before or missing).rpartition("/")
        parts["namespace"] = namespace or missing
        if sep:
            host = host or missing
            parts["host"] = host.partition("://")[2] if "://" in host else host
    defaults = {"host": _DEFAULT_HOST, "namespace": _DEFAULT_NAMESPACE, "tag": "latest"}
    for kind, value in parts.items():
        if not value and kind in defaults:
            parts[kind] = defaults[kind]
        elif not _PART[kind].fullmatch(value):
            return None
    return ModelName(**parts)


def name_key(name: str) -> str:
    parsed = parse_name(name)
    if parsed is None:
        raise ValueError(f"{name!r} is not a valid Ollama model name")
    return parsed.key
