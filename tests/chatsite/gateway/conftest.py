"""The live gateway: one site process (SQLite) in front of one stand-in, for this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.chatsite.gateway.live import LiveGateway, seed_keys
from tests.ollama_standin import running_standin
from tests.site_process import clean_environment, start_site


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    data_dir = tmp_path_factory.mktemp("gateway")
    database = data_dir / "site.sqlite3"
    with running_standin() as ollama:
        environment = clean_environment(
            DATA_DIR=str(data_dir),
            DATABASE_URL=f"sqlite:///{database}",
            DJANGO_SECRET_KEY="gateway-test-key-" + "x" * 40,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            OLLAMA_HOST=ollama.url,
            OLLAMA_MODELS_CACHE_SECONDS="0",
            CHAT_MAX_TURNS_PER_MINUTE="1000",
            # Short, so a stream whose key is revoked ends within a second.
            CHAT_LEASE_SECONDS="3",
        )
        keys = seed_keys(environment)
        site = start_site(environment, data_dir / "site.log")
        try:
            yield LiveGateway(site, ollama, keys, database, environment)
        finally:
            site.stop()


@pytest.fixture
def gateway(live: LiveGateway) -> LiveGateway:
    live.ollama.reset()
    live.ollama.add_model("llama3.2:latest")
    live.ollama.add_model("nomic-embed-text:latest", capabilities=("embedding",), family="bert")
    return live
