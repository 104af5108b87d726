"""The job skeleton's own rules: leases, and listening before a job is launched."""

from __future__ import annotations

import asyncio
import gc
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from chatsite.channel_layer import default_layer
from chatsite.jobs import (
    PROCESS_ID,
    LeasedJob,
    lapsed_lease,
    launch,
    live_lease,
    released_lease,
    start_job,
    taken_lease,
)
from conversations.models import Message
from tests.factories import make_conversation, make_message, make_user


def test_a_taken_lease_names_this_process_and_expires_later():
    before = timezone.now()
    lease = taken_lease(15)
    assert lease["lease_owner"] == PROCESS_ID
    assert before + timedelta(seconds=14) < lease["lease_expires_at"]
    assert released_lease() == {"lease_owner": "", "lease_expires_at": None}


@pytest.mark.django_db
def test_lapsed_and_live_leases_split_the_rows():
    conversation = make_conversation(make_user("alice"))
    now = timezone.now()
    live = make_message(conversation, lease_expires_at=now + timedelta(seconds=5))
    lapsed = make_message(conversation, lease_expires_at=now - timedelta(seconds=5))
    never = make_message(conversation, lease_expires_at=None)
    assert set(Message.objects.filter(live_lease(now))) == {live}
    assert set(Message.objects.filter(lapsed_lease(now))) == {lapsed, never}


async def test_a_job_that_does_not_listen_yet_cannot_be_launched():
    with pytest.raises(RuntimeError, match="must listen"):
        launch(LeasedJob("job-control.test"))


class StubbornJob(LeasedJob):
    """Work that absorbs the first cancellation, as a library under it once did."""

    stop_event_type = "stubborn.stop"

    def __init__(self) -> None:
        super().__init__("stubborn-control.test")
        self.outcome: tuple[str, str] | None = None
        self.absorbed = 0
        self.started = asyncio.Event()

    async def work(self) -> tuple[str, str]:
        self.started.set()
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.absorbed += 1
                if self.absorbed > 1:
                    raise

    async def flush(self, lease_expires_at: datetime) -> None:
        pass

    async def finish(self, state: str, error: str) -> None:
        self.outcome = (state, error)

    async def fail_unexpectedly(self) -> None:
        self.outcome = ("failed", "unexpectedly")


@pytest.mark.django_db(transaction=True)  # the skeleton refreshes old database connections
async def test_a_stop_ends_work_that_absorbed_the_first_cancellation():
    job = StubbornJob()
    task = await start_job(job)
    await job.started.wait()
    await default_layer().group_send(job.control_group, {"type": "stubborn.stop"})

    assert await task == "stopped"
    assert job.absorbed == 2
    assert job.outcome == ("stopped", "")


class BrokenJob(StubbornJob):
    async def work(self) -> tuple[str, str]:
        raise ValueError("a bug in the work")


@pytest.mark.django_db(transaction=True)
async def test_a_job_that_fails_unexpectedly_is_stored_and_leaves_no_unretrieved_exception():
    loop = asyncio.get_running_loop()
    unhandled: list[dict] = []
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    job = BrokenJob()
    task = await start_job(job)
    await asyncio.wait({task})
    del task  # nobody awaits it: asyncio reports an unretrieved exception when it is collected
    gc.collect()

    assert job.outcome == ("failed", "unexpectedly")
    assert not unhandled
