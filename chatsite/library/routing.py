"""Websocket route of the models page."""

from __future__ import annotations

from django.urls import path

from chatsite.library.consumers import ModelsConsumer

websocket_urlpatterns = [
    path("ws/manage/models/", ModelsConsumer.as_asgi()),  # type: ignore[arg-type]  # django-stubs types path() for views only
]
