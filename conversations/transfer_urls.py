"""Search, export and import pages (issue 5): included by conversations/urls.py."""

from __future__ import annotations

from django.urls import path

from conversations import transfer_views

urlpatterns = [
    path("search/", transfer_views.search, name="search"),
    path(
        "c/<uuid:conversation_id>/export.md",
        transfer_views.export_markdown,
        name="export_markdown",
    ),
    path("c/<uuid:conversation_id>/export.json", transfer_views.export_json, name="export_json"),
    path("export/all.json", transfer_views.export_all, name="export_all"),
    path("import/", transfer_views.import_conversations, name="import"),
]
