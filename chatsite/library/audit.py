"""The audit log: who pulled, deleted or unloaded what, on which server, when, and how it ended.
Every entry is also pushed to the admins watching the models page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatsite.library import frames
from chatsite.library.models import AuditEntry

if TYPE_CHECKING:
    from chatsite.accounts.models import User
    from chatsite.library.pulls import Canceller

Action = AuditEntry.Action
Outcome = AuditEntry.Outcome


async def record(
    actor: User | Canceller | None,
    action: str,
    model_name: str,
    outcome: str,
    detail: str = "",
    *,
    host: str,
) -> AuditEntry:
    """`actor` is a user, or None when nobody is to blame (a pull whose starter is gone);
    `host` is the Ollama server acted on."""
    entry = await AuditEntry.objects.acreate(
        actor_id=getattr(actor, "pk", None),
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        host=host,
        model_name=model_name,
        outcome=outcome,
        detail=detail,
    )
    await frames.broadcast(await frames.audit_log())
    return entry
