"""History, manage and review pages: included by conversations/urls.py."""

from __future__ import annotations

from django.urls import path

from conversations.history import review
from conversations.history import views as history

urlpatterns = [
    path("history/", history.history, name="history"),
    path("history/bulk/", history.bulk, name="bulk"),
    path("c/<uuid:conversation_id>/title/", history.title, name="title"),
    path("c/<uuid:conversation_id>/rename/", history.rename, name="rename"),
    path("c/<uuid:conversation_id>/pin/", history.pin, name="pin"),
    path("c/<uuid:conversation_id>/unpin/", history.unpin, name="unpin"),
    path("c/<uuid:conversation_id>/archive/", history.archive, name="archive"),
    path("c/<uuid:conversation_id>/unarchive/", history.unarchive, name="unarchive"),
    path("c/<uuid:conversation_id>/delete/", history.delete, name="delete"),
    path("c/<uuid:conversation_id>/review/", review.review, name="review"),
    path("manage/review/<uuid:conversation_id>/", review.admin_review, name="admin_review"),
    path(
        "manage/users/<int:pk>/conversations/",
        review.admin_user_conversations,
        name="admin_user_conversations",
    ),
]
