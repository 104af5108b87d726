"""The Assistant: a preset a new chat copies (model, system prompt, options, thinking) plus the
starter prompts shown on its empty chat. Shared ones have no owner; personal ones have one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

MAX_STARTERS = 4


class AssistantQuerySet(models.QuerySet["Assistant"]):
    def shared(self) -> AssistantQuerySet:
        return self.filter(owner__isnull=True)

    def owned_by(self, user: AbstractBaseUser | AnonymousUser) -> AssistantQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(owner_id=user.pk)

    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> AssistantQuerySet:
        """The shared assistants and the user's own (whether their model is allowed to them is
        the model access rule's to say)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(models.Q(owner__isnull=True) | models.Q(owner_id=user.pk))


class Assistant(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assistants",
        help_text="Empty for a shared assistant, which everyone is offered.",
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=300)
    system_prompt = models.TextField(blank=True)
    # Ollama options, as a conversation stores them (temperature, top_p, num_ctx, ...).
    options = models.JSONField(default=dict, blank=True)
    think = models.BooleanField(default=True)
    starters = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssistantQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def shared(self) -> bool:
        return self.owner_id is None

    def settings_data(self) -> dict[str, Any]:
        """What a chat's settings form gets when a conversation starts from this assistant."""
        return {
            "model": self.model,
            "system_prompt": self.system_prompt,
            "think": "on" if self.think else "",
            **{name: value for name, value in self.options.items() if value is not None},
        }

    def snapshot(self) -> dict[str, Any]:
        """The settings a conversation copied when it started, kept with it (and exported)."""
        return {
            "model": self.model,
            "system_prompt": self.system_prompt,
            "options": dict(self.options),
            "think": self.think,
        }
