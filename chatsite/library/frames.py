"""HTML frames for the models page: partials rendered for the socket group every admin on the
page joins, and for htmx responses (as out-of-band swaps)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.template.loader import render_to_string

from chatsite.channel_layer import default_layer
from chatsite.library.inventory import Inventory
from chatsite.library.models import AuditEntry, Pull

# Every admin socket on the models page listens here.
MODELS_GROUP = "library.models"


async def broadcast(html: str) -> None:
    await default_layer().group_send(MODELS_GROUP, {"type": "library.frame", "html": html})


def _render(template: str, context: dict[str, Any]) -> str:
    return render_to_string(f"library/partials/{template}", context)


def pull_card(pull: Pull, *, oob: bool = False) -> str:
    return _render("pull.html", {"pull": pull, "oob": oob})


async def pull_list(*, oob: bool = False) -> str:
    """The pulls as stored: for a socket that just joined, and when a pull starts."""
    pulls = await sync_to_async(Pull.objects.for_page)()
    return _render("pull_list.html", {"pulls": pulls, "oob": oob})


async def audit_log(*, oob: bool = False) -> str:
    entries = [entry async for entry in AuditEntry.objects.latest_first()]
    return _render("audit_log.html", {"entries": entries, "oob": oob})


def inventory(found: Inventory, *, oob: bool = False) -> str:
    """One server's section (its status, installed models and models in memory), by the
    server's own id, so a refresh of one server leaves the others alone."""
    return _render("server.html", {"inventory": found, "oob": oob})


def notice(text: str, *, failed: bool = False, oob: bool = True) -> str:
    """A one-line outcome for the admin who acted: out-of-band next to other parts, or the whole
    reply of a form that targets #library-notice (see partials/loaded.html)."""
    return _render("notice.html", {"text": text, "failed": failed, "oob": oob})
