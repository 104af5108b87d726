"""Logging filters the LOGGING setting attaches to other libraries' loggers."""

from __future__ import annotations

import logging


class DemoteToDebug(logging.Filter):
    """httpx logs every request it sends at INFO ("HTTP Request: POST .../api/chat 200"): one
    line per reply, per title, per model list. They are DEBUG detail here: shown only when the
    site logs at DEBUG (LOG_LEVEL=DEBUG), and then as DEBUG records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True
