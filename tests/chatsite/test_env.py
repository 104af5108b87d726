"""Settings from the environment: typed readers that fail loudly; OLLAMA_HOST as Ollama reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatsite.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    parse_ollama_host,
    redis_channel_prefix,
)
from tests.site_process import clean_environment, run_manage

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0:11434", "http://0.0.0.0:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("http://gpu-box", "http://gpu-box:80"),
        ("https://ollama.internal", "https://ollama.internal:443"),
        ("https://ollama.internal:8443/ollama/", "https://ollama.internal:8443/ollama"),
        ("[::1]:11434", "http://[::1]:11434"),
        ("::1", "http://[::1]:11434"),
        ("  127.0.0.1:11434  ", "http://127.0.0.1:11434"),
        (":11500", "http://127.0.0.1:11500"),
    ],
)
def test_ollama_host_accepts_the_forms_ollamas_cli_accepts(raw, expected):
    assert parse_ollama_host(raw) == expected


@pytest.mark.parametrize("raw", ["gpu-box:port", "gpu-box:99999", "ftp://gpu-box", "a b:1"])
def test_a_bad_ollama_host_names_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match="OLLAMA_HOST"):
        parse_ollama_host(raw)


def test_typed_readers_use_defaults_and_reject_malformed_values():
    environ = {"FLAG": "yes", "COUNT": "12", "RATE": "0.5", "HOSTS": "a, b,,c", "BAD": "many"}
    assert env_bool("FLAG", False, environ) is True
    assert env_bool("MISSING", True, environ) is True
    assert env_int("COUNT", 1, environ) == 12
    assert env_float("RATE", 1.0, environ) == 0.5
    assert env_list("HOSTS", [], environ) == ["a", "b", "c"]
    with pytest.raises(ImproperlyConfigured, match="BAD must be true or false"):
        env_bool("BAD", False, environ)
    with pytest.raises(ImproperlyConfigured, match="BAD must be a whole number"):
        env_int("BAD", 1, environ)
    with pytest.raises(ImproperlyConfigured, match="COUNT must be at least 20"):
        env_int("COUNT", 1, environ, minimum=20)


def run_check(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_manage(clean_environment(DATA_DIR=str(tmp_path), **variables), "check")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("OLLAMA_HOST", "gpu-box:port"),
        ("OLLAMA_LOAD_TIMEOUT", "soon"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("REDIS_URL", "localhost:6379"),
        ("DJANGO_CSRF_TRUSTED_ORIGINS", "chat.example.com"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(tmp_path, variable, value):
    result = run_check(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def test_a_secret_key_is_created_once_in_the_data_directory(tmp_path):
    assert run_check(tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) > 40
    assert run_check(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("redis://127.0.0.1:6379/13", "chatsite.db13."),
        ("redis://127.0.0.1:6379", "chatsite.db0."),
        ("rediss://cache.example:6380/3", "chatsite.db3."),
        ("unix:///run/redis.sock?db=2", "chatsite.db2."),
    ],
)
def test_sites_on_one_redis_server_but_different_databases_get_their_own_channel_names(url, prefix):
    assert redis_channel_prefix(url) == prefix
