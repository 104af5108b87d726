"""The assistants app: its own label and migrations, inside the conversations package."""

from __future__ import annotations

from django.apps import AppConfig


class AssistantsConfig(AppConfig):
    name = "conversations.assistants"
    label = "assistants"
    verbose_name = "Assistants"
    default_auto_field = "django.db.models.BigAutoField"
