"""The pull task: Ollama's pull stream -> throttled progress frames to the models group.

A pull belongs to no socket and no request. It streams progress from the Ollama server its row
names, sends a few frames a second to every admin on the models page, writes its progress to its
row about once a second (renewing its lease), and stops when asked on the channel layer, closing
the stream to Ollama.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import aclose_old_connections
from channels.layers import BaseChannelLayer, get_channel_layer
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from chatsite.library import audit, frames
from chatsite.library.inventory import fetch_inventory
from chatsite.library.models import Pull
from chatsite.library.signals import models_changed
from chatsite.ollama import OllamaClient, OllamaError, OllamaStreamError, PullProgress

logger = logging.getLogger(__name__)

# Identifies this process as the owner of the pulls it runs (see Pull.lease_owner).
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

# Tasks must be referenced somewhere or the event loop may garbage-collect them mid-run.
_running_tasks: set[asyncio.Task[Any]] = set()


def control_group(pull_id: uuid.UUID) -> str:
    """The running pull listens here for cancel requests, from whichever process."""
    return f"library-pull.{pull_id.hex}"


@dataclass(frozen=True)
class PullTiming:
    # Ollama sends ~16 lines a second per layer; admins need a few updates a second at most.
    frame_interval: float = 0.25
    flush_interval: float = 1.0
    lease_seconds: float = 15.0
    speed_window: float = 5.0


@dataclass(frozen=True)
class Canceller:
    """Who asked for a cancel, as the channel-layer message carries it."""

    pk: int | None
    username: str


class Transfer:
    """Progress as Ollama reports it, and the download speed over a sliding window."""

    def __init__(self, speed_window: float) -> None:
        self.status = ""
        self.layers: dict[str, dict[str, int]] = {}
        self.speed_window = speed_window
        self._samples: deque[tuple[float, int]] = deque()

    @property
    def completed(self) -> int:
        return sum(layer["completed"] for layer in self.layers.values())

    @property
    def total(self) -> int:
        return sum(layer["total"] for layer in self.layers.values())

    def apply(self, progress: PullProgress, now: float) -> None:
        self.status = progress.status
        if progress.digest and progress.total:
            done = min(progress.completed or 0, progress.total)
            self.layers[progress.digest] = {"total": progress.total, "completed": done}
        self._samples.append((now, self.completed))
        while len(self._samples) > 2 and self._samples[1][0] < now - self.speed_window:
            self._samples.popleft()

    def bytes_per_second(self) -> int | None:
        if len(self._samples) < 2:
            return None
        (start, done_then), (end, done_now) = self._samples[0], self._samples[-1]
        if end - start < 0.2:  # too short to say anything
            return None
        return max(0, round((done_now - done_then) / (end - start)))

    def finish(self) -> None:
        """Ollama never promises a last line at 100% (its ticker stops), so success fills in."""
        for layer in self.layers.values():
            layer["completed"] = layer["total"]


def describe_failure(name: str, error: OllamaError) -> str:
    """Ollama's error in plain words, with its own text kept for whoever debugs it."""
    if isinstance(error, OllamaStreamError):
        if "manifest" in error.message and "does not exist" in error.message:
            return f"Ollama's registry has no model called {name} (Ollama said: {error.message})."
        return f"Ollama could not pull {name}: {error.message}."
    if error.status == 400:
        return f"Ollama refused to pull {name}: {error.message}."
    return str(error)


class PullTask:
    def __init__(
        self,
        pull: Pull,
        *,
        layer: BaseChannelLayer | None = None,
        client_factory: Callable[[str], OllamaClient] = OllamaClient,
        timing: PullTiming | None = None,
    ) -> None:
        self.pull = pull
        self.layer = layer or get_channel_layer()
        self.client_factory = client_factory
        self.timing = timing or PullTiming()
        self.transfer = Transfer(self.timing.speed_window)
        self.cancelled_by: Canceller | None = None
        self._dirty = asyncio.Event()
        self._finished = False
        self._control_channel = ""
        self._stream_task: asyncio.Task[tuple[str, str]] | None = None

    async def listen(self) -> None:
        """Join the control group; done before the task starts, so no cancel is missed."""
        if not self._control_channel:
            self._control_channel = await self.layer.new_channel()
            await self.layer.group_add(control_group(self.pull.id), self._control_channel)

    async def run(self) -> str:
        """Pull to the end, a cancel or an error; store and announce the outcome; return it."""
        await self.listen()
        helpers = [
            asyncio.create_task(self._listen_for_control()),
            asyncio.create_task(self._flush_periodically()),
        ]
        sender = asyncio.create_task(self._send_frames())
        stream = asyncio.create_task(self._stream())
        self._stream_task = stream
        state, error = Pull.State.FAILED, ""
        try:
            await frames.broadcast(await frames.pull_list())  # the new card, for every admin
            state, error = await stream
        except asyncio.CancelledError:
            if self.cancelled_by is None:
                raise
            state = Pull.State.CANCELLED
        finally:
            self._finished = True
            self._dirty.set()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            stream.cancel()
            for task in helpers:
                task.cancel()
            await asyncio.gather(stream, *helpers, return_exceptions=True)
            await self.layer.group_discard(control_group(self.pull.id), self._control_channel)
        await aclose_old_connections()
        await self._finish(state, error)
        return state

    async def _stream(self) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        try:
            async with (
                self.client_factory(self.pull.host) as client,
                contextlib.aclosing(client.pull(self.pull.name)) as steps,
            ):
                async for step in steps:
                    self.transfer.apply(step, loop.time())
                    self._dirty.set()
        except OllamaError as error:
            return Pull.State.FAILED, describe_failure(self.pull.name, error)
        self.transfer.finish()
        return Pull.State.SUCCEEDED, ""

    async def _send_frames(self) -> None:
        """The first change goes out at once, later ones at most every frame_interval."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self._finished:
                return  # the final frame comes from _finish, with the stored outcome
            self._take_progress()
            await frames.broadcast(frames.pull_card(self.pull))
            await asyncio.sleep(self.timing.frame_interval)

    def _take_progress(self) -> None:
        pull, transfer = self.pull, self.transfer
        pull.status = transfer.status
        pull.layers = {digest: dict(layer) for digest, layer in transfer.layers.items()}
        pull.completed, pull.total = transfer.completed, transfer.total
        pull.bytes_per_second = transfer.bytes_per_second()

    async def _listen_for_control(self) -> None:
        while True:
            event = await self.layer.receive(self._control_channel)
            if event.get("type") == "pull.cancel" and self.cancelled_by is None:
                self.cancelled_by = Canceller(event.get("user_id"), event.get("username", ""))
                if self._stream_task is not None:
                    self._stream_task.cancel()

    async def _flush_periodically(self) -> None:
        """Store the progress about once a second; each write also renews the lease."""
        while True:
            await asyncio.sleep(self.timing.flush_interval)
            self._take_progress()
            pull = self.pull
            await Pull.objects.filter(pk=pull.pk, state=Pull.State.RUNNING).aupdate(
                status=pull.status,
                layers=pull.layers,
                completed=pull.completed,
                total=pull.total,
                bytes_per_second=pull.bytes_per_second,
                lease_expires_at=timezone.now() + timedelta(seconds=self.timing.lease_seconds),
            )

    async def _finish(self, state: str, error: str) -> None:
        self._take_progress()
        pull = self.pull
        pull.state, pull.error, pull.finished_at = state, error, timezone.now()
        pull.bytes_per_second = None
        pull.lease_owner, pull.lease_expires_at = "", None
        if state == Pull.State.CANCELLED:
            pull.status = "cancelled"
        stored = await Pull.objects.filter(pk=pull.pk, state=Pull.State.RUNNING).aupdate(
            state=state,
            error=error,
            status=pull.status,
            layers=pull.layers,
            completed=pull.completed,
            total=pull.total,
            bytes_per_second=None,
            finished_at=pull.finished_at,
            lease_owner="",
            lease_expires_at=None,
        )
        if not stored:
            # Our lease lapsed and another process reaped the row (and logged it) meanwhile.
            logger.warning("pull %s finished as %s after it was reaped", pull.pk, state)
            return
        # Logged first, so whoever sees the final card finds the outcome in the log too.
        await self._log_outcome(state, error)
        await frames.broadcast(frames.pull_card(pull))
        if state == Pull.State.SUCCEEDED:
            await models_changed.asend(sender=PullTask, host=pull.host)
            found = await fetch_inventory(pull.host, self.client_factory)
            await frames.broadcast(frames.inventory(found))

    async def _log_outcome(self, state: str, error: str) -> None:
        pull = self.pull
        actor, detail = pull.started_by, error
        if state == Pull.State.SUCCEEDED:
            detail = f"{filesizeformat(pull.total)} downloaded" if pull.total else ""
        elif state == Pull.State.CANCELLED:
            actor, detail = self.cancelled_by, f"cancelled at {pull.percent}%"
        await audit.record(actor, audit.Action.PULL, pull.name, state, detail, host=pull.host)


async def reap_interrupted() -> None:
    """Fail the pulls whose process died (their lease lapsed), log them, tell the page."""
    reaped = await sync_to_async(Pull.objects.reap_expired)()
    for pull in reaped:
        await audit.record(
            pull.started_by, audit.Action.PULL, pull.name, pull.state, pull.error, host=pull.host
        )
    if reaped:
        await frames.broadcast(await frames.pull_list())


async def start_pull_task(pull: Pull, **kwargs: Any) -> asyncio.Task[str]:
    """Run a pull as its own task on the running loop: it outlives the request that asked."""
    task = PullTask(pull, **kwargs)
    await task.listen()
    # A fresh context: a task started inside a request must not inherit the request's
    # thread-sensitive executor, which Django shuts down when the response is sent.
    running = asyncio.get_running_loop().create_task(
        _run_logged(task), context=contextvars.Context()
    )
    _running_tasks.add(running)
    running.add_done_callback(_running_tasks.discard)
    return running


async def _run_logged(task: PullTask) -> str:
    try:
        return await task.run()
    except Exception:
        logger.exception("pull %s failed unexpectedly", task.pull.pk)
        error = "The pull stopped because of an internal error; see the server log."
        await Pull.objects.filter(pk=task.pull.pk, state=Pull.State.RUNNING).aupdate(
            state=Pull.State.FAILED,
            error=error,
            finished_at=timezone.now(),
            lease_owner="",
            lease_expires_at=None,
        )
        raise
