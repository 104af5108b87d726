"""The pull task driven directly: no socket, a real stand-in, the real database."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chatsite.library.actions import cancel_pull
from chatsite.library.models import AuditEntry, Pull
from chatsite.library.pulls import PullTask, PullTiming, Transfer, control_group, start_pull_task
from chatsite.ollama import PullProgress, configured_hosts
from tests.factories import make_user
from tests.live import wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]

FAST = PullTiming(frame_interval=0.05, flush_interval=0.05)


@database_sync_to_async
def new_pull(name: str = "tinyllama:latest") -> Pull:
    """A pull on the (only) configured server, as the page would start it."""
    host = configured_hosts()[0]
    return Pull.objects.create(host=host, name=name, started_by=make_user("ada", admin=True))


async def stored(pull: Pull) -> Pull:
    return await Pull.objects.aget(pk=pull.pk)


async def audit_entries() -> list[tuple[str, str, str, str]]:
    entries = AuditEntry.objects.order_by("created_at", "id")
    return [(e.actor_name, e.action, e.model_name, e.outcome) async for e in entries]


async def test_a_pull_runs_to_success_with_progress_frames_and_the_new_model_listed(
    ollama, models_group
):
    ollama.script_pull(layers=(4_000_000, 2_000), steps_per_layer=12, step_delay=0.01)
    pull = await new_pull()
    async with models_group:
        state = await PullTask(pull, timing=FAST).run()
        frames = await models_group.until('id="installed-models-')

    assert state == "succeeded"
    done = await stored(pull)
    assert (done.state, done.status, done.error) == ("succeeded", "success", "")
    assert done.completed == done.total == 4_002_000
    assert all(layer["completed"] == layer["total"] for layer in done.layers.values())
    assert (done.lease_owner, done.lease_expires_at) == ("", None)
    progress = [f for f in frames if f.startswith(f'<article id="pull-{pull.id}"')]
    assert any("pulling " in f and "<progress" in f for f in progress)
    assert 'value="100"' in progress[-1] and "Succeeded" in progress[-1]
    assert "tinyllama:latest" in frames[-1]  # the installed list, refreshed
    assert await audit_entries() == [("ada", "pull", "tinyllama:latest", "succeeded")]


async def test_progress_frames_are_throttled_not_one_per_ollama_line(ollama, models_group):
    ollama.script_pull(layers=(1_000_000,) * 4, steps_per_layer=40, step_delay=0.002)
    pull = await new_pull()
    async with models_group:
        await PullTask(pull, timing=PullTiming(frame_interval=0.25)).run()
        frames = await models_group.until("Succeeded")

    cards = [f for f in frames if f.startswith(f'<article id="pull-{pull.id}"')]
    assert 2 <= len(cards) < 160 / 10  # 160+ lines from Ollama, a handful of frames


async def test_progress_is_flushed_to_the_database_while_the_pull_runs(ollama):
    ollama.script_pull(layers=(1_000_000,), steps_per_layer=10, hang_after_steps=5)
    pull = await new_pull()
    task = asyncio.create_task(PullTask(pull, timing=FAST).run())

    async def flushed():
        row = await stored(pull)
        return row if row.completed else None

    row = await wait_until(flushed, what="progress in the database")
    assert row.state == "running" and row.status.startswith("pulling ")
    assert 0 < row.percent < 100
    assert row.lease_expires_at is not None  # each flush renews the lease
    await get_channel_layer().group_send(
        control_group(pull.id), {"type": "pull.cancel", "user_id": None, "username": "ada"}
    )
    assert await task == "cancelled"


async def test_cancelling_closes_the_stream_to_ollama_and_is_audited(ollama, models_group):
    ollama.script_pull(layers=(1_000_000,), steps_per_layer=10, hang_after_steps=3)
    pull = await new_pull()
    bob = await database_sync_to_async(make_user)("bob", admin=True)
    task = asyncio.create_task(PullTask(pull, timing=FAST).run())
    async with models_group:
        await models_group.until("pulling ")
        await get_channel_layer().group_send(
            control_group(pull.id), {"type": "pull.cancel", "user_id": bob.pk, "username": "bob"}
        )
        assert await task == "cancelled"
        await ollama.await_for(lambda s: s.requests_to("/api/pull")[0].client_disconnected)
        await models_group.until("Cancelled")

    done = await stored(pull)
    assert (done.state, done.finished_at is not None) == ("cancelled", True)
    entries = await audit_entries()
    assert entries == [("bob", "pull", "tinyllama:latest", "cancelled")]


async def test_an_unknown_model_fails_with_ollamas_error_in_plain_words(ollama, models_group):
    ollama.script_pull(unknown=True)
    pull = await new_pull("no-such-model:latest")
    async with models_group:
        assert await PullTask(pull, timing=FAST).run() == "failed"
        frames = await models_group.until("Failed")

    done = await stored(pull)
    assert done.error == (
        "Ollama's registry has no model called no-such-model:latest "
        "(Ollama said: pull model manifest: file does not exist)."
    )
    assert any("registry has no model called no-such-model:latest" in f for f in frames)
    entry = await AuditEntry.objects.aget()
    assert (entry.outcome, entry.detail) == ("failed", done.error)


async def test_a_failure_mid_way_keeps_the_progress_and_shows_the_reason(ollama):
    ollama.script_pull(layers=(1_000_000,), steps_per_layer=6, fail_after_steps=4)
    pull = await new_pull()
    assert await PullTask(pull, timing=FAST).run() == "failed"

    done = await stored(pull)
    assert (
        done.error
        == "Ollama could not pull tinyllama:latest: max retries exceeded: unexpected EOF."
    )
    assert 0 < done.completed < done.total
    assert (await AuditEntry.objects.aget()).outcome == "failed"


async def test_an_unreachable_ollama_fails_the_pull_with_a_clear_sentence(settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    pull = await new_pull()
    assert await PullTask(pull, timing=FAST).run() == "failed"
    assert (await stored(pull)).error == "Ollama is not reachable at http://127.0.0.1:9"


def test_speed_is_measured_over_a_sliding_window():
    transfer = Transfer(speed_window=5.0)
    digest = "sha256:" + "b" * 64
    for second in range(11):
        transfer.apply(PullProgress("pulling bbb", digest, 10_000, second * 500), now=second)
    assert transfer.completed == 5_000 and transfer.total == 10_000
    assert transfer.bytes_per_second() == 500
    assert Transfer(5.0).bytes_per_second() is None


async def test_a_cancel_sent_right_after_the_start_is_never_lost(ollama, no_pull_left_running):
    ollama.script_pull(layers=(1_000_000,), steps_per_layer=10, hang_after_steps=5)
    pull = await new_pull()
    ada = await database_sync_to_async(lambda: pull.started_by)()
    task = await start_pull_task(pull, timing=FAST)
    await cancel_pull(ada, pull.id)  # before the task has taken a single step

    assert await task == "cancelled"
    done = await stored(pull)
    assert (done.state, done.lease_owner, done.lease_expires_at) == ("cancelled", "", None)
    assert await audit_entries() == [("ada", "pull", "tinyllama:latest", "cancelled")]
