"""Every open socket of a user is in one channel-layer group, so the site can reach all their tabs:
new titles, and closing sockets when an admin takes access away."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def revoke_sockets(user_id: int) -> None:
    """Ask every socket of the user to check its access again (pages already refuse at once)."""
    async_to_sync(get_channel_layer().group_send)(user_group(user_id), {"type": "account.revoked"})
