"""What differs between Ollama versions that the stand-in can play (OllamaStandin(version=...))."""

from __future__ import annotations

# /api/tags lists each model's capabilities from this version on (ollama-wire.md: present at
# v0.30.0, absent at v0.20.0); older servers tell them only through /api/show.
TAGS_CAPABILITIES_SINCE = (0, 30, 0)


def version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split("-", 1)[0].split("."):
        parts.append(int(part) if part.isdigit() else 0)
    return tuple(parts)


def lists_capabilities(version: str) -> bool:
    """Whether a server of this version lists capabilities in /api/tags."""
    return version_tuple(version) >= TAGS_CAPABILITIES_SINCE
