"""Chat websocket routes."""

from __future__ import annotations

from django.urls import path

from conversations.chat.consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/<uuid:conversation_id>/", ChatConsumer.as_asgi()),  # type: ignore[arg-type]  # django-stubs types path() for views only
]
