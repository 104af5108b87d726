"""What the model library tells the rest of the site: the installed models changed."""

from __future__ import annotations

from django.dispatch import Signal

# Sent (with `host`) after a pull succeeds or a model is deleted, so cached model lists are
# dropped at once in this process; other processes catch up within their cache's few seconds.
models_changed = Signal()
