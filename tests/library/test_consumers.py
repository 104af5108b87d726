"""The models page socket and the pull actions end to end: a real ASGI app, the real database,
the Ollama stand-in, several admins watching."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from chatsite.library.models import AuditEntry, Pull
from conversations.chat.titles import announce_title
from tests.factories import make_user
from tests.live import open_socket, receive_until, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_pull_left_running"),
]

PATH = "/ws/manage/models/"
HTMX = {"HX-Request": "true"}


async def connected(user):
    socket = await open_socket(user, PATH)
    ok, code = await socket.connect()
    assert ok, code
    await receive_until(socket, 'id="pull-list"')  # the catch-up every new socket gets
    return socket


async def signed_in(user) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(user)
    return client


async def finished(name: str) -> Pull | None:
    return await Pull.objects.exclude(state="running").filter(name=name).afirst()


async def audit_trail(length: int = 0) -> list[tuple[str, str, str, str]]:
    """The log so far; with `length`, once it has that many entries (the outcome of a pull is
    logged a moment after its row is final)."""

    async def entries():
        found = AuditEntry.objects.order_by("created_at", "id")
        trail = [(e.actor_name, e.action, e.model_name, e.outcome) async for e in found]
        return trail if len(trail) >= length else None

    return await wait_until(entries, what=f"{length} audit entries")


@pytest.mark.parametrize("who", ["member", "visitor", "unapproved admin"])
async def test_only_admins_may_open_the_models_socket(who):
    user = None
    if who == "member":
        user = await database_sync_to_async(make_user)("alice")
    elif who == "unapproved admin":
        user = await database_sync_to_async(make_user)("eve", admin=True, approved=False)
    socket = await open_socket(user, PATH)
    ok, code = await socket.connect()
    assert (ok, code) == (False, 4403)
    await socket.disconnect()


async def test_a_pull_streams_its_progress_to_every_admin_on_the_page(admin_user, ollama):
    ollama.script_pull(layers=(3_000_000, 5_000), steps_per_layer=20, step_delay=0.01)
    bob = await database_sync_to_async(make_user)("bob", admin=True)
    ada_socket, bob_socket = await connected(admin_user), await connected(bob)

    response = await (await signed_in(admin_user)).post(
        reverse("library:pull"), {"name": "TinyLlama"}, headers=HTMX
    )
    assert "Pulling tinyllama:latest" in response.content.decode()
    seen = [await receive_until(s, "tinyllama:latest</strong>") for s in (ada_socket, bob_socket)]
    seen = [
        frames + await receive_until(s, 'id="installed-models-')
        for frames, s in zip(seen, (ada_socket, bob_socket), strict=True)
    ]
    await ada_socket.disconnect()
    await bob_socket.disconnect()

    for frames in seen:
        joined = "".join(frames)
        assert "pulling " in joined and "<progress" in joined
        assert 'value="100"' in joined and "Succeeded" in joined
        assert "tinyllama:latest" in frames[-1]  # the installed list, without a reload
    assert ollama.requests_to("/api/pull")[0].body == {"model": "tinyllama:latest", "stream": True}
    assert await audit_trail(2) == [
        ("ada", "pull", "tinyllama:latest", "started"),
        ("ada", "pull", "tinyllama:latest", "succeeded"),
    ]


async def test_a_reload_mid_pull_shows_the_pull_still_running(admin_user, ollama):
    ollama.script_pull(layers=(1_000_000,), steps_per_layer=10, hang_after_steps=5)
    client = await signed_in(admin_user)
    await client.post(reverse("library:pull"), {"name": "tinyllama"})

    async def progress_stored():
        return await Pull.objects.filter(state="running", completed__gt=0).afirst()

    pull = await wait_until(progress_stored, what="progress in the database")
    page = (await client.get(reverse("library:index"))).content.decode()
    socket = await open_socket(admin_user, PATH)  # the reloaded page's socket
    assert (await socket.connect())[0]
    catch_up = await socket.receive_from()
    await client.post(reverse("library:cancel_pull", args=[pull.id]))
    await receive_until(socket, "Cancelled")
    await socket.disconnect()

    for shown in (page, catch_up):
        card = shown[shown.index(f'id="pull-{pull.id}"') :]
        assert "Pulling" in card and ">Cancel</button>" in card
        assert "tinyllama:latest" in card and "pulling " in card
    assert f'value="{pull.percent}"' in page
    assert pull.percent > 0


async def test_cancel_stops_the_pull_and_ollama_sees_the_client_go_away(admin_user, ollama):
    ollama.script_pull(layers=(1_000_000,), steps_per_layer=10, hang_after_steps=2)
    bob = await database_sync_to_async(make_user)("bob", admin=True)
    await (await signed_in(admin_user)).post(reverse("library:pull"), {"name": "tinyllama"})
    await ollama.await_for(lambda s: s.requests_to("/api/pull"))
    pull = await Pull.objects.aget()

    response = await (await signed_in(bob)).post(
        reverse("library:cancel_pull", args=[pull.id]), headers=HTMX
    )
    assert "Cancelling the pull of tinyllama:latest" in response.content.decode()
    await ollama.await_for(lambda s: s.requests_to("/api/pull")[0].client_disconnected)
    assert (await wait_until(lambda: finished("tinyllama:latest"))).state == "cancelled"
    assert await audit_trail(2) == [
        ("ada", "pull", "tinyllama:latest", "started"),
        ("bob", "pull", "tinyllama:latest", "cancelled"),
    ]


async def test_pulling_a_model_already_being_pulled_joins_the_running_pull(admin_user, ollama):
    ollama.script_pull(layers=(1_000_000,), steps_per_layer=10, hang_after_steps=2)
    bob = await database_sync_to_async(make_user)("bob", admin=True)
    await (await signed_in(admin_user)).post(reverse("library:pull"), {"name": "tinyllama"})
    second = await (await signed_in(bob)).post(
        reverse("library:pull"), {"name": "TinyLlama:latest"}, headers=HTMX
    )

    assert "tinyllama:latest is already being pulled" in second.content.decode()
    assert await Pull.objects.acount() == 1
    pull = await Pull.objects.aget()
    assert f'id="pull-{pull.id}"' in second.content.decode()
    await ollama.await_for(lambda s: len(s.requests_to("/api/pull")) == 1)
    await (await signed_in(bob)).post(reverse("library:cancel_pull", args=[pull.id]))
    await wait_until(lambda: finished("tinyllama:latest"))
    assert len(ollama.requests_to("/api/pull")) == 1
    assert [entry[3] for entry in await audit_trail(2)] == ["started", "cancelled"]


async def test_an_unknown_model_shows_ollamas_error_on_every_admins_page(admin_user, ollama):
    ollama.script_pull(unknown=True)
    socket = await connected(admin_user)
    await (await signed_in(admin_user)).post(reverse("library:pull"), {"name": "nope"})
    frames = await receive_until(socket, "Failed")
    await socket.disconnect()

    assert "Ollama&#x27;s registry has no model called nope:latest" in frames[-1]
    assert [entry[3] for entry in await audit_trail(2)] == ["started", "failed"]


async def test_deleting_updates_every_admins_installed_list(admin_user, ollama):
    ollama.add_model("qwen3:8b")
    socket = await connected(admin_user)
    await (await signed_in(admin_user)).post(reverse("library:delete", args=["qwen3:8b"]))
    frames = await receive_until(socket, 'id="installed-models-')
    await socket.disconnect()

    installed = frames[-1][frames[-1].index('id="installed-models-') :]
    assert "llama3.2:latest" in installed and "qwen3:8b" not in installed
    assert any('id="audit-log"' in frame and "qwen3:8b" in frame for frame in frames)


async def test_a_new_conversation_title_leaves_an_admins_models_page_open(admin_user, ollama):
    ollama.add_model("qwen3:8b")
    socket = await connected(admin_user)
    await announce_title(admin_user.pk, uuid.uuid4(), "Sky colours")  # sent to all their tabs
    await (await signed_in(admin_user)).post(reverse("library:delete", args=["qwen3:8b"]))

    frames = await receive_until(socket, 'id="installed-models-')  # still open, still updated
    await socket.disconnect()
    assert not any("Sky colours" in frame for frame in frames)
