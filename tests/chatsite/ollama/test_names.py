"""chatsite.ollama.names: which model names Ollama accepts (types/model/name.go). Spelling names
one way is tested with the library that stores them (tests/library/test_models.py)."""

from __future__ import annotations

import pytest

from chatsite.ollama import is_valid_model_name


@pytest.mark.parametrize(
    "name",
    [
        "llama3.2",
        "llama3.2:latest",
        "qwen3:8b",
        "myns/foo:7b",
        "registry.ollama.ai/library/llama3.2:3b",
        "host:5000/ns/model",
        "host:5000/ns/model:tag",
        "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        "https://example.com/ns/model:v1",
        "_private",
        "m" * 80,
        "m:" + "t" * 80,
        "h" * 350 + "/ns/m",
    ],
)
def test_valid_model_names_are_accepted(name):
    assert is_valid_model_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "bad name!",
        " llama3.2",
        "a/",
        "/a",
        "m:",
        "ns/m:",
        "ns//m",
        "-leading",
        ".leading",
        "dotted.ns/m",
        "m:tag/x",
        "a:b:c",
        "h/ns/m/extra",
        "héllo",
        "m" * 81,
        "m:" + "t" * 81,
        "h" * 351 + "/ns/m",
    ],
)
def test_invalid_model_names_are_refused(name):
    assert not is_valid_model_name(name)
