"""History, manage and review pages (issue 5): included by conversations/urls.py."""

from __future__ import annotations

urlpatterns: list = []
