"""Ollama's model names ([host/][namespace/]model[:tag], as types/model/name.go reads them): which
names Ollama accepts, and the one spelling the site stores for each model.
"""

from __future__ import annotations

import re

DEFAULT_REGISTRY = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"

_HOST_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")
_NAMESPACE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_MODEL_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")


def is_valid_model_name(name: str) -> bool:
    """True when Ollama would accept `name` as a model reference (it does not say it exists)."""
    rest, tag = name, None
    # The tag is cut at the last ":" only when it follows the last "/", so "host:5000/m" has none.
    if rest.rfind(":") > rest.rfind("/"):
        rest, _, tag = rest.rpartition(":")
    rest, separator, model = rest.rpartition("/")
    namespace = host = None
    if separator:
        # A separator promises a part on both sides: "a/" and "/a" are invalid, not defaulted.
        if not rest:
            return False
        host, separator, namespace = rest.rpartition("/")
        if not separator:
            host = None
        elif not host:
            return False
        elif "://" in host:
            host = host.partition("://")[2]
    parts = ((model, _MODEL_PART), (tag, _MODEL_PART), (namespace, _NAMESPACE_PART))
    if any(part is not None and not pattern.fullmatch(part) for part, pattern in parts):
        return False
    return host is None or bool(_HOST_PART.fullmatch(host))


def normalise_model_name(name: str) -> str:
    """One spelling per model, as Ollama matches them: lower-case, default host, namespace and
    tag filled in or dropped (`Llama3.2` and `registry.ollama.ai/library/llama3.2:latest` are
    both `llama3.2:latest`). Call it on valid names only."""
    name = name.strip().lower()
    if name.rfind(":") <= name.rfind("/"):
        name += ":latest"
    scheme, separator, rest = name.rpartition("://")
    parts = rest.split("/")
    if len(parts) == 3 and parts[0] == DEFAULT_REGISTRY:
        parts, separator = parts[1:], ""
    if len(parts) == 2 and parts[0] == DEFAULT_NAMESPACE:
        parts = parts[1:]
    return (scheme + separator if separator else "") + "/".join(parts)
