"""Shared fixtures: the cast of users (alice, bob, ada the admin), their clients, the stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from asgiref.sync import SyncToAsync
from channels.layers import channel_layers
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client

from chatsite.accounts.models import User
from conversations.chat.catalog import forget_catalog
from tests.factories import make_user
from tests.ollama_standin import OllamaStandin, running_standin


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Make an SQLite test database a file, so browser tests' daphne process can share it.

    This lives here, not in tests/browser/: the test database is created once per session, for
    whichever test asks first, so the choice has to be the same for every test.
    """
    database = django_settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test_name = tmp_path_factory.mktemp("database") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(test_name)


@pytest.fixture(scope="session", autouse=True)
def close_connections_of_async_tests(django_db_setup: None) -> Iterator[None]:
    """ORM calls from async code run on asgiref's one worker thread, whose connection outlives
    the tests; close it before the test database is dropped (PostgreSQL refuses otherwise)."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    # The in-memory layer's queues belong to one event loop; each test runs on its own.
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def fresh_model_catalog() -> None:
    # Each test scripts its own stand-in; a catalog remembered from another test must not count.
    forget_catalog()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def empty_static_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("static"))


@pytest.fixture(autouse=True)
def plain_static_files(settings, empty_static_root: str) -> None:
    # The manifest storage needs collectstatic first; tests render pages without running it.
    # An existing (empty) STATIC_ROOT keeps whitenoise from warning on every request.
    settings.STATIC_ROOT = empty_static_root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def attachments_in_a_temporary_folder(settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Uploaded images go to a folder of the test's own, never to DATA_DIR/media.
    location = str(tmp_path_factory.mktemp("media"))
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": location},
        },
    }


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
def admin_user(db) -> User:
    return make_user("ada", admin=True, display_name="Ada Admin")


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def standin() -> Iterator[OllamaStandin]:
    """The stand-in on its own (the site is not pointed at it), for tests of its wire."""
    with running_standin() as server:
        server.add_model("llama3.2")
        yield server


@pytest.fixture
def http(standin: OllamaStandin) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin.url, trust_env=False, timeout=5) as client:
        yield client


@pytest.fixture
def ollama(settings) -> Iterator[OllamaStandin]:
    """A fresh Ollama stand-in with one installed model; the site is pointed at it."""
    with running_standin() as standin:
        standin.add_model("llama3.2:latest")
        settings.OLLAMA_HOST = standin.url
        yield standin


# Fixtures that start real site processes (migrate, collect static files, start daphne): on a
# busy 2-core machine that set-up alone can pass the suite's 60 s hang guard, which is there to
# catch hung streams, not slow start-ups. Tests using them get a longer guard.
PROCESS_FIXTURES = {"cluster", "served", "daphne_server"}
PROCESS_TIMEOUT = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses_processes = PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_processes and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(PROCESS_TIMEOUT))
