"""Conversations in and out: export (Markdown, JSON, everything) and import (chatsite, Open WebUI,
ChatGPT)."""
