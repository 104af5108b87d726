"""The chat app's routes: chat pages here, the history, search and transfer pages included."""

from __future__ import annotations

from django.urls import include, path

from conversations.chat import views

app_name = "conversations"
urlpatterns = [
    path("", views.index, name="index"),
    path("c/new/", views.create, name="create"),
    path("c/<uuid:conversation_id>/", views.detail, name="detail"),
    path(
        "c/<uuid:conversation_id>/messages/<uuid:message_id>/",
        views.message,
        name="message",
    ),
    path(
        "c/<uuid:conversation_id>/messages/<uuid:message_id>/edit/",
        views.edit_message,
        name="edit_message",
    ),
    path("", include("conversations.attachments.urls")),
    path("", include("conversations.history.urls")),
    path("", include("conversations.search.urls")),
    path("", include("conversations.transfer.urls")),
]
