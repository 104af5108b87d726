"""The model library's records: model jobs, pulls and creates (state and progress, owned by one
process at a time), and the audit log of every pull, create, copy, delete and unload, each on the
Ollama server it names."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from chatsite.jobs import lapsed_lease, released_lease, taken_lease
from chatsite.ollama import CreateRequest

if TYPE_CHECKING:
    from chatsite.accounts.models import User

INTERRUPTED_ERROR = "The pull was interrupted: the server process running it stopped."
CREATE_INTERRUPTED_ERROR = (
    "The create was interrupted: the server process running it stopped. Check the model list "
    "before creating it again."
)


class PullQuerySet(models.QuerySet["Pull"]):
    def running(self) -> PullQuerySet:
        return self.filter(state=Pull.State.RUNNING)

    def for_page(self, finished: int = 5) -> list[Pull]:
        """Every running pull, then the few most recently finished ones."""
        running = list(self.running().select_related("started_by").order_by("started_at"))
        done = self.exclude(state=Pull.State.RUNNING).select_related("started_by")
        return running + list(done.order_by("-finished_at")[:finished])

    def start_or_join(
        self,
        name: str,
        user: User,
        *,
        host: str,
        lease: float,
        kind: str = "pull",
        request: dict[str, Any] | None = None,
    ) -> tuple[Pull, bool]:
        """The running job (pull or create) of `name` on the server `host`, created if there is
        none: (job, created). The same model on another server is another job.

        The partial unique constraint makes this hold across processes: of two inserts racing
        for one (server, name), the second fails and joins the first.
        """
        self.reap_expired()
        for _attempt in range(3):
            existing = self.running().filter(host=host, name=name).first()
            if existing is not None:
                return existing, False
            try:
                with transaction.atomic():
                    pull = self.create(
                        host=host,
                        name=name,
                        kind=kind,
                        request=request or {},
                        started_by=user,
                        **taken_lease(lease),
                    )
                return pull, True
            except IntegrityError:
                continue  # another process inserted it between our read and our insert
        raise RuntimeError(f"could not start or join a pull of {name} on {host}")

    def reap_expired(self) -> list[Pull]:
        """Mark running pulls whose owner stopped renewing the lease as failed; return them.

        Only expired leases are touched, so a live process's pulls are never taken over, and
        each row is claimed by a conditional update, so two reapers never both report one.
        """
        now = timezone.now()
        expired = lapsed_lease(now)
        reaped = []
        for pull in self.running().filter(expired).select_related("started_by"):
            error = CREATE_INTERRUPTED_ERROR if pull.is_create else INTERRUPTED_ERROR
            claimed = (
                self.filter(pk=pull.pk, state=Pull.State.RUNNING)
                .filter(expired)
                .update(
                    state=Pull.State.FAILED,
                    error=error,
                    finished_at=now,
                    **released_lease(),
                )
            )
            if claimed:
                pull.state, pull.error, pull.finished_at = Pull.State.FAILED, error, now
                reaped.append(pull)
        return reaped


class Pull(models.Model):
    """A job that brings a model onto a server: a pull from the registry, or a create from an
    installed model (which streams the same progress lines, and pulls a missing base first)."""

    class Kind(models.TextChoices):
        PULL = "pull", "Pull"
        CREATE = "create", "Create"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    host = models.CharField(max_length=300, help_text="The Ollama server pulling the model.")
    name = models.CharField(max_length=500, help_text="Normalised: lower-case, with a tag.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PULL)
    # A create's request as sent (see chatsite.ollama.CreateRequest); empty for a pull.
    request = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    status = models.CharField(max_length=300, blank=True, help_text="Ollama's latest status line.")
    # {digest: {"total": bytes, "completed": bytes}}, in the order Ollama announced the layers.
    layers = models.JSONField(default=dict, blank=True)
    # Ollama's status lines as they changed (the latest last), for the card of a create.
    lines = models.JSONField(default=list, blank=True)
    completed = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    bytes_per_second = models.PositiveBigIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # A running pull belongs to one live process, which renews the lease with every flush.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    objects = PullQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host", "name"],
                condition=models.Q(state="running"),
                name="library_one_running_pull_per_server_model",
            )
        ]
        indexes = [models.Index(fields=["state", "finished_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.name} on {self.host} ({self.state})"

    @property
    def is_running(self) -> bool:
        return self.state == self.State.RUNNING

    @property
    def is_create(self) -> bool:
        return self.kind == self.Kind.CREATE

    @property
    def base(self) -> str:
        return str(self.request.get("base", ""))

    def create_request(self) -> CreateRequest:
        return CreateRequest(model=self.name, **self.request)

    @property
    def percent(self) -> int:
        return _percent(self.completed, self.total)

    @property
    def layer_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "digest": digest,
                "short": digest.removeprefix("sha256:")[:12],
                "total": layer.get("total", 0),
                "completed": layer.get("completed", 0),
                "percent": _percent(layer.get("completed", 0), layer.get("total", 0)),
            }
            for digest, layer in self.layers.items()
        ]

    @property
    def seconds_left(self) -> float | None:
        if not self.is_running or not self.bytes_per_second or self.total <= self.completed:
            return None
        return (self.total - self.completed) / self.bytes_per_second


def _percent(done: int, total: int) -> int:
    if total <= 0:
        return 0
    return min(100, int(done * 100 // total))


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def latest_first(self, limit: int = 50) -> AuditEntryQuerySet:
        return self.select_related("actor").order_by("-created_at", "-id")[:limit]


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        PULL = "pull", "Pull"
        CREATE = "create", "Create"
        COPY = "copy", "Copy"
        DELETE = "delete", "Delete"
        UNLOAD = "unload", "Unload"

    class Outcome(models.TextChoices):
        STARTED = "started", "Started"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so the log still says who after the account is deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    host = models.CharField(max_length=300, help_text="The Ollama server acted on.")
    model_name = models.CharField(max_length=500)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        who = self.actor_name or "someone"
        return f"{who} {self.action} {self.model_name} on {self.host}: {self.outcome}"
