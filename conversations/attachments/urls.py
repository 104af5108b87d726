"""Attachment routes: included by conversations/urls.py."""

from __future__ import annotations

from django.urls import path

from conversations.attachments import views

urlpatterns = [
    path("c/attachments/", views.upload, name="attachment_upload"),
    path("c/attachments/<uuid:attachment_id>/remove/", views.remove, name="attachment_remove"),
    path("c/attachments/<uuid:attachment_id>/file/", views.file, name="attachment_file"),
    path("c/attachments/<uuid:attachment_id>/text/", views.text, name="attachment_text"),
]
