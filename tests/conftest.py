"""Shared fixtures: the cast of users (alice, bob), their clients, and the Ollama stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from chatsite.accounts.models import User
from tests.factories import make_user
from tests.ollama_standin import OllamaStandin, running_standin


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db) -> User:
    return make_user("bob")


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def ollama(settings) -> Iterator[OllamaStandin]:
    """A fresh Ollama stand-in with one installed model; the site is pointed at it."""
    with running_standin() as standin:
        standin.add_model("llama3.2:latest")
        settings.OLLAMA_HOST = standin.url
        yield standin
