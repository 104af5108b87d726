"""Export and import pages: included by conversations/urls.py."""

from __future__ import annotations

from django.urls import path

from conversations.transfer import views

urlpatterns = [
    path(
        "c/<uuid:conversation_id>/export.md",
        views.export_markdown,
        name="export_markdown",
    ),
    path("c/<uuid:conversation_id>/export.json", views.export_json, name="export_json"),
    path("export/all.json", views.export_all, name="export_all"),
    path("import/", views.import_conversations, name="import"),
]
