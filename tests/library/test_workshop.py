"""Creating and copying models end to end: the real ASGI app and database, the stand-in, an
admin's socket watching a create stream like a pull, and every refusal with nothing recorded."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.urls import reverse
from django.utils.html import escape

from chatsite.library.inventory import fetch_inventory
from chatsite.library.models import AuditEntry, Pull
from chatsite.library.pulls import PullTask, PullTiming
from tests.factories import make_user
from tests.library.test_consumers import HTMX, audit_trail, connected, finished, signed_in
from tests.live import receive_until, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_pull_left_running"),
]

REVIEWER = {
    "name": "Reviewer",
    "base": "llama3.2:latest",
    "system": "You review code. Be blunt.",
    "temperature": "0.2",
    "stop": "<|end|>\n###\n",
}


async def post_create(client: AsyncClient, **changes: str) -> str:
    response = await client.post(reverse("library:create"), {**REVIEWER, **changes}, headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


async def nothing_recorded() -> None:
    assert not await Pull.objects.aexists()
    assert not await AuditEntry.objects.aexists()


async def test_a_create_streams_status_lines_to_every_admin_and_lists_the_model(admin_user, ollama):
    ollama.script_create(step_delay=0.01)
    bob = await database_sync_to_async(make_user)("bob", admin=True)
    sockets = [await connected(admin_user), await connected(bob)]

    answer = await post_create(await signed_in(admin_user))
    assert "Creating reviewer:latest from llama3.2:latest" in answer
    seen = [await receive_until(s, 'id="installed-models-') for s in sockets]
    for socket in sockets:
        await socket.disconnect()

    for frames in seen:
        joined = "".join(frames)
        assert "Creating" in joined and "using existing layer sha256:" in joined
        assert "writing manifest" in joined and "Succeeded" in joined
        assert "reviewer:latest" in frames[-1]  # the installed list, without a reload
    [sent] = ollama.requests_to("/api/create")
    assert sent.body == {
        "model": "reviewer:latest",
        "from": "llama3.2:latest",
        "stream": True,
        "system": "You review code. Be blunt.",
        "parameters": {"temperature": 0.2, "stop": ["<|end|>", "###"]},
    }
    job = await wait_until(lambda: finished("reviewer:latest"))
    assert (job.kind, job.state, job.error) == ("create", "succeeded", "")
    assert job.lines[-2:] == ["writing manifest", "success"]
    assert await audit_trail(2) == [
        ("ada", "create", "reviewer:latest", "started"),
        ("ada", "create", "reviewer:latest", "succeeded"),
    ]


async def test_details_show_the_created_models_prompt_parameters_and_model_info(
    admin_async, ollama
):
    ollama.add_model("reviewer", system="You review code.", parameters="temperature 0.2")
    url = reverse("library:details", args=["reviewer:latest"])
    page = (await admin_async.get(url)).content.decode()
    assert "You review code." in page
    assert "temperature 0.2" in page
    assert "Model info" in page and "general.architecture" in page
    assert "SYSTEM" in page  # the Modelfile


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"name": "bad name!"}, "“bad name!” is not a valid Ollama model name"),
        ({"name": "llama3.2"}, "A model called llama3.2:latest is already installed"),
        ({"base": "ghost:7b"}, "The base model ghost:7b is not installed"),
        ({"quantize": "q8_0"}, "llama3.2:latest cannot be quantized"),
        ({"temperature": "7"}, "Ensure this value is less than or equal to 2"),
    ],
)
async def test_a_create_the_site_can_refuse_says_why_and_sends_and_records_nothing(
    admin_async, ollama, changes, said
):
    answer = await post_create(admin_async, **changes)
    assert said in answer
    assert 'id="create-form"' in answer  # the form again, with what was typed
    assert not ollama.requests_to("/api/create")
    await nothing_recorded()


async def test_a_base_gone_by_the_time_ollama_creates_fails_with_ollamas_message(
    admin_user, ollama, models_group
):
    # The site saw the base installed when the admin asked; by the time the job runs it is
    # gone, so Ollama tries to pull it first and its registry has no such model.
    job = await Pull.objects.acreate(
        host=ollama.url,
        name="reviewer:latest",
        kind=Pull.Kind.CREATE,
        request={"base": "gone:latest", "system": "Review."},
        started_by=admin_user,
    )
    async with models_group:
        assert await PullTask(job, timing=PullTiming(flush_interval=0.05)).run() == "failed"
        frames = await models_group.until("Failed")
    job = await Pull.objects.aget(pk=job.pk)
    assert job.error == (
        "Could not create reviewer:latest: the base model gone:latest is not installed on this "
        "server, and Ollama's registry has none by that name (Ollama said: pull model "
        "manifest: file does not exist)."
    )
    assert job.lines == ["pulling manifest"]
    assert escape(job.error) in "".join(frames)  # on the card every admin sees
    assert await audit_trail(1) == [("ada", "create", "reviewer:latest", "failed")]


async def test_ollama_going_down_mid_create_fails_the_job_and_lists_nothing(admin_user, ollama):
    ollama.script_create(drop_after_steps=1)
    await post_create(await signed_in(admin_user))
    job = await wait_until(lambda: finished("reviewer:latest"))
    assert job.state == "failed"
    assert job.error == (
        "Ollama could not create reviewer:latest: the connection was lost before the reply "
        "was complete."
    )
    assert (await fetch_inventory(ollama.url)).installed_model("reviewer") is None
    assert await audit_trail(2) == [
        ("ada", "create", "reviewer:latest", "started"),
        ("ada", "create", "reviewer:latest", "failed"),
    ]


async def test_members_cannot_create_or_copy(alice, ollama):
    client = await signed_in(alice)
    assert (await client.post(reverse("library:create"), REVIEWER)).status_code == 403
    url = reverse("library:copy", args=["llama3.2:latest"])
    assert (await client.post(url, {"destination": "mine"})).status_code == 403
    assert not ollama.requests_to("/api/create") and not ollama.requests_to("/api/copy")


async def test_copy_copies_logs_and_refuses_a_taken_name(admin_async, ollama):
    url = reverse("library:copy", args=["llama3.2:latest"])
    assert "New name" in (await admin_async.get(url)).content.decode()
    response = await admin_async.post(url, {"destination": "Mine"})
    assert response.status_code == 302
    assert [r.body for r in ollama.requests_to("/api/copy")] == [
        {"source": "llama3.2:latest", "destination": "mine:latest"}
    ]
    assert await audit_trail(1) == [("ada", "copy", "mine:latest", "succeeded")]

    again = await admin_async.post(url, {"destination": "mine"})
    assert again.status_code == 400
    assert "A model called mine:latest is already installed" in again.content.decode()
    bad = await admin_async.post(url, {"destination": "no good"})
    assert "is not a valid Ollama model name" in bad.content.decode()
    assert len(ollama.requests_to("/api/copy")) == 1
    assert await AuditEntry.objects.acount() == 1


async def test_copy_of_a_model_deleted_meanwhile_says_so(admin_async, ollama):
    url = reverse("library:copy", args=["ghost:latest"])
    response = await admin_async.post(url, {"destination": "mine"}, headers=HTMX)
    assert "Could not copy ghost:latest" in response.content.decode()
    assert "Ollama has no model by that name" in response.content.decode()


async def test_cancelling_a_create_closes_the_stream_and_installs_nothing(admin_user, ollama):
    ollama.script_create(step_delay=30)
    client = await signed_in(admin_user)
    await post_create(client)
    await ollama.await_for(lambda s: s.requests_to("/api/create"))
    job = await Pull.objects.aget()
    response = await client.post(reverse("library:cancel_pull", args=[job.id]), headers=HTMX)
    assert "Cancelling the creation of reviewer:latest" in response.content.decode()
    await ollama.await_for(lambda s: s.requests_to("/api/create")[0].client_disconnected)
    assert (await wait_until(lambda: finished("reviewer:latest"))).state == "cancelled"
    assert (await fetch_inventory(ollama.url)).installed_model("reviewer") is None
    assert await audit_trail(2) == [
        ("ada", "create", "reviewer:latest", "started"),
        ("ada", "create", "reviewer:latest", "cancelled"),
    ]
