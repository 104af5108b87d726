"""The model job task: Ollama's pull or create stream -> throttled progress frames to the models
group.

A job belongs to no socket and no request. It streams progress from the Ollama server its row
names (a create's status lines have the pull's shape, and a create pulls a missing base first),
sends a few frames a second to every admin on the models page, writes its progress to its row
about once a second (renewing its lease), and stops when asked on the channel layer, closing the
stream to Ollama.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from chatsite.jobs import LeasedJob, released_lease, start_job
from chatsite.library import audit, frames
from chatsite.library.inventory import fetch_inventory
from chatsite.library.models import Pull
from chatsite.library.signals import models_changed
from chatsite.ollama import OllamaClient, OllamaError, OllamaStreamError, PullProgress

if TYPE_CHECKING:
    from chatsite.accounts.models import User

logger = logging.getLogger(__name__)


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


# Status lines kept for a job's card: a create sends a handful, a pull one per layer.
MAX_LINES = 40


class Transfer:
    """Progress as Ollama reports it, the status lines as they changed, and the download speed
    over a sliding window."""

    def __init__(self, speed_window: float) -> None:
        self.status = ""
        self.lines: list[str] = []
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
        if not self.lines or self.lines[-1] != progress.status:
            self.lines = [*self.lines, progress.status][-MAX_LINES:]
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
        if _unknown_manifest(error):
            return f"Ollama's registry has no model called {name} (Ollama said: {error.message})."
        return f"Ollama could not pull {name}: {error.message}."
    if error.status == 400:
        return f"Ollama refused to pull {name}: {error.message}."
    return str(error)


def describe_create_failure(name: str, base: str, error: OllamaError) -> str:
    """A create's failure: a base that is gone (Ollama tried to pull it), or Ollama's reason."""
    if isinstance(error, OllamaStreamError):
        if _unknown_manifest(error):
            return (
                f"Could not create {name}: the base model {base} is not installed on this "
                f"server, and Ollama's registry has none by that name (Ollama said: "
                f"{error.message})."
            )
        return f"Ollama could not create {name}: {error.message}."
    if error.status == 400:
        return f"Ollama refused to create {name}: {error.message}."
    return f"Could not create {name}. {error}."


def _unknown_manifest(error: OllamaError) -> bool:
    return "manifest" in error.message and "does not exist" in error.message


class PullTask(LeasedJob):
    stop_event_type = "pull.cancel"
    stopped_state = Pull.State.CANCELLED

    def __init__(
        self,
        pull: Pull,
        *,
        layer: BaseChannelLayer | None = None,
        client_factory: Callable[[str], OllamaClient] = OllamaClient,
        timing: PullTiming | None = None,
    ) -> None:
        super().__init__(control_group(pull.id), layer)
        self.pull = pull
        self.client_factory = client_factory
        self.timing = timing or PullTiming()
        self.flush_interval = self.timing.flush_interval
        self.lease_seconds = self.timing.lease_seconds
        self.transfer = Transfer(self.timing.speed_window)

    @property
    def cancelled_by(self) -> Canceller | None:
        """Who asked for the cancel, as the channel-layer message carried it."""
        if not self.stop_requested:
            return None
        return Canceller(self.stopped_by.get("user_id"), self.stopped_by.get("username", ""))

    async def work(self) -> tuple[str, str]:
        await frames.broadcast(await frames.pull_list())  # the new card, for every admin
        return await self._stream()

    async def _stream(self) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        try:
            async with (
                self.client_factory(self.pull.host) as client,
                contextlib.aclosing(self._steps(client)) as steps,
            ):
                async for step in steps:
                    self.transfer.apply(step, loop.time())
                    self.dirty.set()
        except OllamaError as error:
            return Pull.State.FAILED, self._failure(error)
        self.transfer.finish()
        return Pull.State.SUCCEEDED, ""

    def _steps(self, client: OllamaClient) -> AsyncGenerator[PullProgress, None]:
        if self.pull.is_create:
            return client.create(self.pull.create_request())
        return client.pull(self.pull.name)

    def _failure(self, error: OllamaError) -> str:
        if self.pull.is_create:
            return describe_create_failure(self.pull.name, self.pull.base, error)
        return describe_failure(self.pull.name, error)

    async def send_frames(self) -> None:
        """The first change goes out at once, later ones at most every frame_interval."""
        while True:
            await self.dirty.wait()
            self.dirty.clear()
            if self.finished:
                return  # the final frame comes from _finish, with the stored outcome
            self._take_progress()
            await frames.broadcast(frames.pull_card(self.pull))
            await asyncio.sleep(self.timing.frame_interval)

    def _take_progress(self) -> None:
        pull, transfer = self.pull, self.transfer
        pull.status = transfer.status
        pull.lines = list(transfer.lines)
        pull.layers = {digest: dict(layer) for digest, layer in transfer.layers.items()}
        pull.completed, pull.total = transfer.completed, transfer.total
        pull.bytes_per_second = transfer.bytes_per_second()

    async def flush(self, lease_expires_at: datetime) -> None:
        """Store the progress; each write also renews the lease."""
        self._take_progress()
        pull = self.pull
        await Pull.objects.filter(pk=pull.pk, state=Pull.State.RUNNING).aupdate(
            status=pull.status,
            lines=pull.lines,
            layers=pull.layers,
            completed=pull.completed,
            total=pull.total,
            bytes_per_second=pull.bytes_per_second,
            lease_expires_at=lease_expires_at,
        )

    async def finish(self, state: str, error: str) -> None:
        await self._finish(state, error)

    async def fail_unexpectedly(self) -> None:
        await Pull.objects.filter(pk=self.pull.pk, state=Pull.State.RUNNING).aupdate(
            state=Pull.State.FAILED,
            error=f"The {self.pull.kind} stopped because of an internal error; see the server log.",
            finished_at=timezone.now(),
            **released_lease(),
        )

    async def _finish(self, state: str, error: str) -> None:
        self._take_progress()
        pull = self.pull
        pull.state, pull.error, pull.finished_at = state, error, timezone.now()
        pull.bytes_per_second = None
        pull.lease_owner, pull.lease_expires_at = released_lease().values()
        if state == Pull.State.CANCELLED:
            pull.status = "cancelled"
        stored = await Pull.objects.filter(pk=pull.pk, state=Pull.State.RUNNING).aupdate(
            state=state,
            error=error,
            status=pull.status,
            lines=pull.lines,
            layers=pull.layers,
            completed=pull.completed,
            total=pull.total,
            bytes_per_second=None,
            finished_at=pull.finished_at,
            **released_lease(),
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
        actor: User | Canceller | None = pull.started_by
        detail = error
        if state == Pull.State.SUCCEEDED:
            if pull.is_create:
                detail = f"from {pull.base}"
            else:
                detail = f"{filesizeformat(pull.total)} downloaded" if pull.total else ""
        elif state == Pull.State.CANCELLED:
            actor = self.cancelled_by
            detail = "cancelled" if pull.is_create else f"cancelled at {pull.percent}%"
        await audit.record(actor, audit_action(pull), pull.name, state, detail, host=pull.host)


def audit_action(pull: Pull) -> str:
    return audit.Action.CREATE if pull.is_create else audit.Action.PULL


async def reap_interrupted() -> None:
    """Fail the jobs whose process died (their lease lapsed), log them, tell the page."""
    reaped = await sync_to_async(Pull.objects.reap_expired)()
    for pull in reaped:
        await audit.record(
            pull.started_by, audit_action(pull), pull.name, pull.state, pull.error, host=pull.host
        )
    if reaped:
        await frames.broadcast(await frames.pull_list())


async def start_pull_task(pull: Pull, **kwargs: Any) -> asyncio.Task[str]:
    """Run a pull as its own task on the running loop: it outlives the request that asked."""
    return await start_job(PullTask(pull, **kwargs))
