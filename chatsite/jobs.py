"""Detached, leased, stoppable jobs: chat replies and model pulls run on this one skeleton.

A job is started by a request or a socket and outlives it. Before it is announced it joins its
control group on the channel layer, so a stop sent by any process the moment the job is visible
is never lost. While it runs it stores progress about once a second, each write renewing a lease
on its row; a row whose lease lapsed belongs to a process that died, and is reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from channels.db import aclose_old_connections
from channels.layers import BaseChannelLayer
from django.db.models import Q
from django.utils import timezone

from chatsite.channel_layer import default_layer

logger = logging.getLogger(__name__)

# Identifies this process as the owner of the jobs it runs (the rows' lease_owner).
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

# How long a stopped job's work may take to end before it is cancelled again.
STOP_RETRY_SECONDS = 0.5

# Tasks must be referenced somewhere or the event loop may garbage-collect them mid-run.
_running_tasks: set[asyncio.Task[Any]] = set()


def lease_until(seconds: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=seconds)


def taken_lease(seconds: float) -> dict[str, Any]:
    """The lease fields of a row this process starts running now."""
    return {"lease_owner": PROCESS_ID, "lease_expires_at": lease_until(seconds)}


def released_lease() -> dict[str, Any]:
    """The lease fields of a row no process runs any more."""
    return {"lease_owner": "", "lease_expires_at": None}


def lapsed_lease(now: datetime | None = None) -> Q:
    """Rows whose owner stopped renewing (or never took) the lease: their process is gone."""
    return Q(lease_expires_at__lt=now or timezone.now()) | Q(lease_expires_at__isnull=True)


def live_lease(now: datetime | None = None) -> Q:
    return Q(lease_expires_at__gte=now or timezone.now())


class LeasedJob:
    """The skeleton: subclasses stream the work, flush progress, and store the outcome.

    Subclasses implement `work()` (returns `(state, error)`), `flush(lease_expires_at)`,
    `finish(state, error)`, `on_control(event)` for messages other than a stop, and
    `fail_unexpectedly()`; they may override `send_frames()` and `after_work()`.
    """

    stop_event_type = "job.stop"
    stopped_state = "stopped"
    flush_interval = 1.0
    lease_seconds = 15.0

    def __init__(self, control_group: str, layer: BaseChannelLayer | None = None) -> None:
        self.control_group = control_group
        self.layer = layer or default_layer()
        self.stop_requested = False
        self.stopped_by: dict[str, Any] = {}
        self.finished = False
        self.dirty = asyncio.Event()
        self._control_channel = ""
        self._work_task: asyncio.Task[tuple[str, str]] | None = None

    # --- what a subclass provides --------------------------------------------------------------

    async def work(self) -> tuple[str, str]:
        raise NotImplementedError

    async def flush(self, lease_expires_at: datetime) -> None:
        raise NotImplementedError

    async def finish(self, state: str, error: str) -> None:
        raise NotImplementedError

    async def fail_unexpectedly(self) -> None:
        raise NotImplementedError

    async def on_control(self, event: dict[str, Any]) -> None:
        """A control message other than a stop (a socket asking for a snapshot, say)."""

    async def send_frames(self) -> None:
        """Runs beside the work until it ends; wakes on `dirty`. Nothing to send by default."""

    async def after_work(self) -> None:
        """After the frame sender ended, before the outcome is stored."""

    # --- the skeleton --------------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return bool(self._control_channel)

    async def listen(self) -> None:
        """Join the control group; done before the job is announced, so no stop is missed."""
        if not self._control_channel:
            self._control_channel = await self.layer.new_channel()
            await self.layer.group_add(self.control_group, self._control_channel)

    async def run(self) -> str:
        """Run the work to its end, a stop or an error; store the outcome; return its state."""
        await self.listen()
        listener = asyncio.create_task(self._listen_for_control())
        flusher = asyncio.create_task(self._flush_periodically())
        sender = asyncio.create_task(self.send_frames())
        self._work_task = asyncio.create_task(self.work())
        state, error = "", ""
        try:
            state, error = await self._work_task
        except asyncio.CancelledError:
            if not self.stop_requested:
                raise
            state = self.stopped_state
        finally:
            self.finished = True
            self.dirty.set()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await self.after_work()
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await self.layer.group_discard(self.control_group, self._control_channel)
            # Not awaited: a Redis layer's receive can take seconds to notice a cancel, and the
            # outcome must not wait for it.
            listener.cancel()
            _keep_until_done(listener)
        # A long job can outlive the database connection's max age.
        await aclose_old_connections()
        await self.finish(state, error)
        return state

    async def _listen_for_control(self) -> None:
        while True:
            event = await self.layer.receive(self._control_channel)
            if event.get("type") == self.stop_event_type:
                if not self.stop_requested:
                    self.stop_requested, self.stopped_by = True, event
                    _keep_until_done(asyncio.create_task(self._cancel_work()))
            else:
                await self.on_control(event)

    async def _cancel_work(self) -> None:
        """Cancel the work until it has ended. One cancellation is not always enough: landing
        while httpx sends a request (Ollama's pull, on the Redis layer's timing), it was absorbed
        and the stopped job streamed on."""
        work = self._work_task
        while work is not None and not work.done():
            work.cancel()
            await asyncio.wait({work}, timeout=STOP_RETRY_SECONDS)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush(lease_until(self.lease_seconds))


async def start_job(job: LeasedJob) -> asyncio.Task[str]:
    """Run a job as its own task on the running loop, once it listens for a stop."""
    await job.listen()
    return launch(job)


def launch(job: LeasedJob) -> asyncio.Task[str]:
    """Run a job that already listens (see `listen`) as its own task: it outlives its caller.

    For callers that announce the job between the two steps, so a stop sent on seeing the
    announcement always finds the job listening.
    """
    if not job.listening:
        raise RuntimeError("a job must listen for a stop before it is launched")
    # A fresh context: a task started inside a request must not inherit the request's
    # thread-sensitive executor, which Django shuts down when the response is sent.
    task = asyncio.get_running_loop().create_task(_run_logged(job), context=contextvars.Context())
    _keep_until_done(task)
    return task


def running_tasks() -> list[asyncio.Task[Any]]:
    """The jobs (and their lingering listeners) this process is running, for tests to await."""
    return list(_running_tasks)


async def _run_logged(job: LeasedJob) -> str:
    try:
        return await job.run()
    except Exception:
        logger.exception("%s on %s failed unexpectedly", type(job).__name__, job.control_group)
        await job.fail_unexpectedly()
        raise


def _keep_until_done(task: asyncio.Task[Any]) -> None:
    _running_tasks.add(task)
    task.add_done_callback(_running_tasks.discard)
    task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[Any]) -> None:
    # A job's failure is logged where it happens (_run_logged); read here, it is not logged
    # again as "Task exception was never retrieved" when nobody awaits the task.
    if not task.cancelled():
        task.exception()
