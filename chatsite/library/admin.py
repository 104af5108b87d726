"""Read-only Django admin views of pulls and the audit log (the models page is where to act)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from chatsite.library.models import AuditEntry, Pull


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Pull)
class PullAdmin(ReadOnlyAdmin):
    list_display = ["name", "host", "state", "status", "started_by", "started_at", "finished_at"]
    list_filter = ["state", "host"]
    search_fields = ["name", "host"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "actor_name",
        "action",
        "model_name",
        "host",
        "outcome",
        "detail",
    ]
    list_filter = ["action", "outcome", "host"]
    search_fields = ["model_name", "actor_name", "host"]
