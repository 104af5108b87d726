"""Conversations and their messages, with the one ownership-aware way to query them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from chatsite.accounts.access import is_site_admin
from chatsite.accounts.models import SiteSettings
from chatsite.jobs import lapsed_lease, live_lease, released_lease

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def admin_review_allowed(user: AbstractBaseUser | AnonymousUser) -> bool:
    """An admin, on a site whose admins turned admin review on (it is off by default)."""
    return is_site_admin(user) and SiteSettings.load().admin_review


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> ConversationQuerySet:
        """Every query a user's request makes starts here: only their own conversations."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(owner_id=user.pk)

    def for_admin_review(self, user: AbstractBaseUser | AnonymousUser) -> ConversationQuerySet:
        """Anyone's conversations, read-only, for an admin while the site allows admin review.

        Off by default (SiteSettings.admin_review); the caller records every opening.
        """
        return self.all() if admin_review_allowed(user) else self.none()

    def pinned_first(self) -> ConversationQuerySet:
        """Pinned on top, then most recent activity; the id breaks ties so pages never overlap.

        Served by the owner/archived/pinned/updated_at index (see Meta.indexes).
        """
        return self.order_by("-pinned", "-updated_at", "-id")

    def unarchived(self) -> ConversationQuerySet:
        # `IN (false)` rather than `= false`: on SQLite Django writes the latter as `NOT archived`,
        # which cannot use the history index.
        return self.filter(archived__in=[False])

    def in_sidebar(self) -> ConversationQuerySet:
        return self.unarchived().pinned_first()

    def message_counts(self, conversation_ids: list[Any]) -> dict[Any, int]:
        """Message counts for one page of conversations: one grouped query, never N+1, and only
        over the given ids (so 10,000 conversations x 20 messages are not all counted)."""
        rows = (
            self.filter(pk__in=conversation_ids)
            .order_by()
            .annotate(count=models.Count("messages"))
            .values_list("pk", "count")
        )
        return dict(rows)


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    # The title is the one to keep: generated once, given by the user, or imported. Until then
    # the title is the first words of the first message and is asked of the model after a reply.
    title_settled = models.BooleanField(default=False)
    model = models.CharField(max_length=300, blank=True)
    system_prompt = models.TextField(blank=True)
    # Ollama options chosen for this conversation (temperature, num_ctx, num_predict, top_p, seed).
    options = models.JSONField(default=dict, blank=True)
    think = models.BooleanField(default=True)
    # The assistant a conversation started from: its name and settings are copied at that
    # moment, so editing or deleting the assistant later rewrites nothing here.
    assistant = models.ForeignKey(
        "assistants.Assistant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    assistant_name = models.CharField(max_length=100, blank=True)
    assistant_settings = models.JSONField(default=dict, blank=True)
    pinned = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["owner", "-updated_at"]),
            # The history list and the sidebar: one owner, archived or not, pinned first.
            models.Index(
                fields=["owner", "archived", "-pinned", "-updated_at", "-id"],
                name="conversation_history_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title or "New chat"

    def get_absolute_url(self) -> str:
        return reverse("conversations:detail", args=[self.id])


LOST_REPLY_ERROR = (
    "The server stopped while this reply was being written; the text so far was kept."
)


class MessageQuerySet(models.QuerySet["Message"]):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> MessageQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(conversation__owner_id=user.pk)

    def for_admin_review(self, user: AbstractBaseUser | AnonymousUser) -> MessageQuerySet:
        """The messages of anyone's conversations, under the same rule as the conversations."""
        return self.all() if admin_review_allowed(user) else self.none()

    def live_streaming(self, now: datetime | None = None) -> MessageQuerySet:
        """Replies whose generation is still owned by a live process."""
        return self.filter(live_lease(now), state=Message.State.STREAMING)

    def reap_expired(self) -> int:
        """Mark replies whose owner stopped renewing its lease as interrupted.

        Only expired leases are touched, so a process starting up never takes over a generation
        that another live process is still running.
        """
        return self.filter(lapsed_lease(), state=Message.State.STREAMING).update(
            state=Message.State.INTERRUPTED,
            error=LOST_REPLY_ERROR,
            finished_at=timezone.now(),
            **released_lease(),
        )


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class State(models.TextChoices):
        STREAMING = "streaming", "Streaming"
        COMPLETE = "complete", "Complete"
        STOPPED = "stopped", "Stopped by user"
        INTERRUPTED = "interrupted", "Interrupted"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    thinking = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.COMPLETE)
    error = models.TextField(blank=True)
    model = models.CharField(max_length=300, blank=True)
    options = models.JSONField(default=dict, blank=True)
    prompt_eval_count = models.PositiveIntegerField(null=True, blank=True)
    eval_count = models.PositiveIntegerField(null=True, blank=True)
    eval_duration_ns = models.PositiveBigIntegerField(null=True, blank=True)
    total_duration_ns = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A streaming message belongs to one live process; it renews the lease with every flush
    # so a restarting process reaps only generations whose owner stopped renewing.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "-role"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"

    @property
    def tokens_per_second(self) -> float | None:
        if not self.eval_count or not self.eval_duration_ns:
            return None
        return self.eval_count / self.eval_duration_ns * 1e9

    @property
    def total_seconds(self) -> float | None:
        return None if self.total_duration_ns is None else self.total_duration_ns / 1e9


class TurnStart(models.Model):
    """One row per reply a user started, kept for a minute: the per-user rate of new turns is
    counted here so every process sees the same count."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "started_at"])]

    def __str__(self) -> str:
        return f"turn by {self.user_id} at {self.started_at:%H:%M:%S}"


class AttachmentQuerySet(models.QuerySet["Attachment"]):
    def for_user(self, user: AbstractBaseUser | AnonymousUser) -> AttachmentQuerySet:
        """The user's own files: pending uploads and those of their conversations' messages."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(owner_id=user.pk)

    def pending(self) -> AttachmentQuerySet:
        """Uploaded in a composer, not sent yet."""
        return self.filter(message__isnull=True)


class Attachment(models.Model):
    """An image or a document attached to a user's message (or waiting in a composer, with no
    message yet). Images live in the "attachments" storage, named by the hash of their content;
    a document keeps only its extracted text, here."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        DOCUMENT = "document", "Document"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", null=True, blank=True
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=255)
    # Of what we serve and send: the re-encoded image, or the uploaded document.
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.CharField(max_length=200, blank=True)  # the image's name in the storage
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    # The document's whole length before it was cut to CHAT_MAX_ATTACHMENT_CHARS.
    text_chars = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "created_at"]
        # Pending uploads older than a day are swept on the next upload.
        indexes = [models.Index(fields=["message", "created_at"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("conversations:attachment_file", args=[self.id])

    @property
    def is_image(self) -> bool:
        return self.kind == self.Kind.IMAGE

    @property
    def truncated(self) -> bool:
        return self.text_chars > len(self.text)
