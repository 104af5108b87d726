"""Chat pages."""

from __future__ import annotations

from django.urls import path

from conversations import views

app_name = "conversations"
urlpatterns = [
    path("", views.index, name="index"),
]
