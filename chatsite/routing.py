"""Websocket routes of every app, all under /ws/."""

from __future__ import annotations

from chatsite.library.routing import websocket_urlpatterns as library_routes
from conversations.routing import websocket_urlpatterns as conversation_routes

websocket_urlpatterns = [*conversation_routes, *library_routes]
