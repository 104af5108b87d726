"""Several Ollama servers on the models page: a section per server, actions on a chosen server
only, a server that is down (or silent) shown as such without breaking the others, and a server
the browser made up refused before anything is sent."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from django.test import AsyncClient
from django.urls import reverse

from chatsite.library.inventory import host_slug
from chatsite.library.models import AuditEntry, Pull
from tests.live import open_socket, receive_until, wait_until
from tests.ollama_standin import OllamaStandin, running_standin

DOWN = "http://127.0.0.1:9"
INDEX = reverse("library:index")
HTMX = {"HX-Request": "true"}
REFUSED = "That is not one of this site&#x27;s Ollama servers; nothing was sent to it."


@pytest.fixture
def second_ollama() -> Iterator[OllamaStandin]:
    with running_standin() as standin:
        yield standin


@pytest.fixture
def forged_ollama() -> Iterator[OllamaStandin]:
    """A real server the site is not configured for: a forged host must never reach it."""
    with running_standin() as standin:
        standin.add_model("llama3.2:latest")
        yield standin


@pytest.fixture
def servers(settings, ollama, second_ollama) -> tuple[OllamaStandin, OllamaStandin]:
    """Two stand-ins and a closed port; both stand-ins have shared:7b, only one the others."""
    ollama.add_model("shared:7b")
    second_ollama.add_model("shared:7b", size=4_000_000_000)
    second_ollama.add_model("only-second:1b")
    settings.OLLAMA_HOSTS = [ollama.url, second_ollama.url, DOWN]
    return ollama, second_ollama


@pytest.fixture
def silent_hosts() -> Iterator[list[str]]:
    """Servers that accept connections and never answer, as a hung Ollama would."""
    listeners = []
    for _ in range(3):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listeners.append(listener)
    yield [f"http://127.0.0.1:{listener.getsockname()[1]}" for listener in listeners]
    for listener in listeners:
        listener.close()


def section(page: str, host: str) -> str:
    """One server's section of the models page (up to the next server's, or the audit log)."""
    start = page.index(f'<section id="server-{host_slug(host)}"')
    ends = (page.find('<section id="server-', start + 1), page.index('id="audit-log"', start))
    return page[start : min(end for end in ends if end >= 0)]


def in_memory(page: str, host: str) -> str:
    """One server's "In memory now" list."""
    found = section(page, host)
    return found[found.index('id="loaded-models-') :]


async def signed_in(user) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(user)
    return client


def pulls_sent(*standins: OllamaStandin) -> list[int]:
    return [len(standin.requests_to("/api/pull")) for standin in standins]


# -- the page ----------------------------------------------------------------------------------


def test_the_page_shows_each_servers_models_separately_and_the_down_server_with_its_address(
    admin_client, servers
):
    first, second = servers
    page = admin_client.get(INDEX).content.decode()

    first_section, second_section = section(page, first.url), section(page, second.url)
    down_section = section(page, DOWN)
    assert f"Ollama at <code>{first.url}</code>" in first_section
    assert "Reachable</span> Ollama 0.33.0" in first_section
    assert "llama3.2:latest" in first_section and "shared:7b" in first_section
    assert "only-second:1b" not in first_section
    assert f"Ollama at <code>{second.url}</code>" in second_section
    assert "Reachable</span> Ollama 0.33.0" in second_section
    assert "only-second:1b" in second_section and "shared:7b" in second_section
    assert "llama3.2:latest" not in second_section
    assert f"Ollama at <code>{DOWN}</code>" in down_section and "Unreachable" in down_section
    assert f"Ollama is not reachable at {DOWN}" in down_section
    assert page.index(first.url) < page.index(second.url) < page.index(DOWN)  # configured order


def test_each_servers_loaded_models_are_listed_with_an_unload_for_that_server(
    admin_client, servers
):
    first, second = servers
    second.load_model("only-second:1b")
    page = admin_client.get(INDEX).content.decode()

    assert "No model is loaded" in in_memory(page, first.url)
    loaded = in_memory(page, second.url)
    assert "only-second:1b" in loaded
    assert f'<input type="hidden" name="host" value="{second.url}">' in loaded


def test_the_pull_form_offers_every_configured_server(admin_client, servers):
    first, second = servers
    page = admin_client.get(INDEX).content.decode()
    form = page[page.index('id="pull-form"') : page.index("</form>", page.index('id="pull-form"'))]

    assert '<select name="host"' in form
    for host in (first.url, second.url, DOWN):
        assert f'<option value="{host}"' in form


def test_with_one_server_the_pull_form_has_no_server_to_choose(admin_client, ollama):
    page = admin_client.get(INDEX).content.decode()
    assert '<select name="host"' not in page
    assert f'id="server-{host_slug(ollama.url)}"' in page


def test_a_silent_server_delays_the_page_by_its_timeout_only_once(
    admin_client, settings, ollama, silent_hosts
):
    settings.OLLAMA_HOSTS = [*silent_hosts, ollama.url]
    settings.OLLAMA_REQUEST_TIMEOUT = 0.6
    started = time.monotonic()
    page = admin_client.get(INDEX).content.decode()
    elapsed = time.monotonic() - started

    # Asked one after another, three silent servers would cost three timeouts (1.8 s) or more.
    assert elapsed < 1.5, elapsed
    assert "llama3.2:latest" in section(page, ollama.url)
    for host in silent_hosts:
        assert "did not answer within 0.6 seconds" in section(page, host)


def test_details_come_from_the_chosen_server(admin_client, servers):
    first, second = servers
    url = reverse("library:details", args=["shared:7b"])
    panel = admin_client.get(url, {"host": second.url}, headers=HTMX).content.decode()

    assert f"On Ollama at <code>{second.url}</code>" in panel
    assert len(second.requests_to("/api/show")) == 1
    assert first.requests_to("/api/show") == []


# -- pulls -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_pull_left_running")
async def test_a_pull_on_the_second_server_goes_only_there_and_its_progress_reaches_the_page(
    admin_user, servers
):
    first, second = servers
    second.script_pull(layers=(2_000_000, 5_000), steps_per_layer=10, step_delay=0.01)
    socket = await open_socket(admin_user, "/ws/manage/models/")
    assert (await socket.connect())[0]
    await receive_until(socket, 'id="pull-list"')

    response = await (await signed_in(admin_user)).post(
        reverse("library:pull"), {"name": "tinyllama", "host": second.url}, headers=HTMX
    )
    assert f"Pulling tinyllama:latest on {second.url}." in response.content.decode()
    frames = await receive_until(socket, "Succeeded")
    frames += await receive_until(socket, f'id="server-{host_slug(second.url)}"')
    await socket.disconnect()

    joined = "".join(frames)
    assert "pulling " in joined and "<progress" in joined
    assert f"on <code>{second.url}</code>" in joined
    assert "tinyllama:latest" in frames[-1]  # the second server's section, refreshed
    assert pulls_sent(first, second) == [0, 1]
    pull = await Pull.objects.aget()
    assert (pull.host, pull.state) == (second.url, "succeeded")

    async def both_logged():
        hosts = [e.host async for e in AuditEntry.objects.order_by("created_at", "id")]
        return hosts if len(hosts) == 2 else None

    assert await wait_until(both_logged, what="the pull's two audit entries") == [second.url] * 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_pull_left_running")
async def test_one_model_pulled_on_two_servers_is_two_pulls_and_twice_on_one_joins(
    admin_user, servers
):
    first, second = servers
    for standin in servers:
        standin.script_pull(layers=(1_000_000,), steps_per_layer=10, hang_after_steps=2)
    client = await signed_in(admin_user)
    pull_url = reverse("library:pull")

    await client.post(pull_url, {"name": "tinyllama", "host": first.url})
    await client.post(pull_url, {"name": "tinyllama", "host": second.url})
    again = await client.post(
        pull_url, {"name": "TinyLlama:latest", "host": second.url}, headers=HTMX
    )

    assert (
        f"tinyllama:latest is already being pulled on {second.url}; you are watching that pull."
        in again.content.decode()
    )
    running = [(p.host, p.name) async for p in Pull.objects.running().order_by("started_at")]
    assert running == [(first.url, "tinyllama:latest"), (second.url, "tinyllama:latest")]
    for standin in servers:
        await standin.await_for(lambda s: len(s.requests_to("/api/pull")) == 1)
    async for pull in Pull.objects.running():
        await client.post(reverse("library:cancel_pull", args=[pull.id]))

    async def all_cancelled():
        return not await Pull.objects.running().aexists()

    await wait_until(all_cancelled, what="both pulls cancelled")
    assert pulls_sent(first, second) == [1, 1]


# -- delete and unload -------------------------------------------------------------------------


def test_the_delete_confirmation_names_the_chosen_server(admin_client, servers):
    first, second = servers
    url = reverse("library:delete", args=["shared:7b"])
    page = admin_client.get(url, {"host": second.url}).content.decode()

    assert "Delete shared:7b?" in page
    assert f"from Ollama at <code>{second.url}</code>" in page
    assert "3.7\xa0GB" in page  # the second server's copy, not the first's
    assert f'<input type="hidden" name="host" value="{second.url}">' in page


def test_deleting_on_a_chosen_server_deletes_only_there_and_the_log_names_it(
    admin_client, admin_user, servers
):
    first, second = servers
    url = reverse("library:delete", args=["shared:7b"])
    response = admin_client.post(url, {"host": second.url}, follow=True)

    page = response.content.decode()
    assert f"Deleted shared:7b on {second.url} (3.7\xa0GB freed)." in page
    assert first.requests_to("/api/delete") == []
    assert [r.body for r in second.requests_to("/api/delete")] == [{"model": "shared:7b"}]
    assert "shared:7b" in section(page, first.url)
    assert "shared:7b" not in section(page, second.url)
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.host, entry.outcome) == (
        admin_user,
        "delete",
        second.url,
        "succeeded",
    )
    log = page[page.index('id="audit-log"') :]
    assert f"<td><code>{second.url}</code></td>" in log


def test_unloading_on_a_chosen_server_unloads_only_there_and_the_log_names_it(
    admin_client, servers
):
    first, second = servers
    for standin in servers:
        standin.load_model("shared:7b")
    response = admin_client.post(
        reverse("library:unload"), {"name": "shared:7b", "host": first.url}, headers=HTMX
    )

    assert f"Unloaded shared:7b from memory on {first.url}." in response.content.decode()
    assert [r.body for r in first.requests_to("/api/chat")] == [
        {"model": "shared:7b", "messages": [], "keep_alive": 0}
    ]
    assert second.requests_to("/api/chat") == []
    page = admin_client.get(INDEX).content.decode()
    assert "No model is loaded" in in_memory(page, first.url)
    assert "shared:7b" in in_memory(page, second.url)
    assert AuditEntry.objects.get().host == first.url


def test_an_action_on_the_down_server_fails_clearly_and_is_logged_against_it(admin_client, servers):
    response = admin_client.post(
        reverse("library:unload"), {"name": "shared:7b", "host": DOWN}, headers=HTMX
    )
    assert f"Ollama is not reachable at {DOWN}" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.host, entry.outcome) == (DOWN, "failed")


# -- forged and missing servers ----------------------------------------------------------------

ACTIONS = [
    ("post", reverse("library:pull"), {"name": "tinyllama"}),
    ("post", reverse("library:unload"), {"name": "llama3.2:latest"}),
    ("post", reverse("library:delete", args=["llama3.2:latest"]), {}),
    ("get", reverse("library:delete", args=["llama3.2:latest"]), {}),
    ("get", reverse("library:details", args=["llama3.2:latest"]), {}),
]


@pytest.mark.parametrize(("method", "url", "data"), ACTIONS)
def test_a_forged_server_is_refused_without_contacting_anything(
    admin_client, servers, forged_ollama, method, url, data
):
    forged = {**data, "host": forged_ollama.url}
    response = getattr(admin_client, method)(url, forged, headers=HTMX)

    assert REFUSED in response.content.decode()
    for standin in (*servers, forged_ollama):
        assert standin.requests == []
    assert not Pull.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(("method", "url", "data"), ACTIONS)
def test_with_one_server_a_forged_server_is_still_refused(
    admin_client, ollama, forged_ollama, method, url, data
):
    response = getattr(admin_client, method)(url, {**data, "host": forged_ollama.url})

    if response.status_code == 302:  # a plain form post: the refusal comes as a message
        response = admin_client.get(response["Location"])
    assert REFUSED in response.content.decode()
    assert forged_ollama.requests == []
    assert not [
        r for r in ollama.requests if r.path not in ("/api/version", "/api/tags", "/api/ps")
    ]
    assert not AuditEntry.objects.exists()


def test_with_several_servers_an_action_must_name_one(admin_client, servers):
    response = admin_client.post(reverse("library:unload"), {"name": "shared:7b"}, headers=HTMX)
    assert "Choose the Ollama server to act on." in response.content.decode()
    assert all(standin.requests == [] for standin in servers)
    assert not AuditEntry.objects.exists()
