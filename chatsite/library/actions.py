"""What an admin can do to an Ollama server's models: pull (or join a running pull), create from
an installed model, copy, cancel, delete and unload. Each acts on one server, already checked
against the configured ones by a form; each is audited and announced to every admin on the
models page; views stay thin."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.template.defaultfilters import filesizeformat

from chatsite.channel_layer import default_layer
from chatsite.library import audit, frames
from chatsite.library.forms import QUANTIZABLE_LEVELS
from chatsite.library.inventory import fetch_inventory
from chatsite.library.models import Pull
from chatsite.library.pulls import (
    PullTiming,
    control_group,
    reap_interrupted,
    start_pull_task,
)
from chatsite.library.signals import models_changed
from chatsite.ollama import (
    CreateRequest,
    ModelNotFound,
    OllamaClient,
    OllamaError,
    configured_hosts,
)

if TYPE_CHECKING:
    from chatsite.accounts.models import User


class ActionFailed(Exception):
    """An action Ollama refused or could not do; str() is a sentence for the admin."""


async def start_pull(user: User, host: str, name: str) -> tuple[Pull, bool]:
    """Start pulling `name` (already normalised) on `host`, or join the running pull of it
    there: (pull, started)."""
    await reap_interrupted()  # a pull left running by a dead process must not be joined
    pull, created = await sync_to_async(Pull.objects.start_or_join)(
        name, user, host=host, lease=PullTiming.lease_seconds
    )
    if created:
        await audit.record(user, audit.Action.PULL, name, audit.Outcome.STARTED, host=host)
        await start_pull_task(pull)
    return pull, created


async def start_create(user: User, host: str, request: CreateRequest) -> Pull:
    """Start creating `request.model` (normalised) on `host` from an installed base; it streams
    like a pull. Raises ActionFailed, before anything is sent or stored, for a name already
    taken, a base that is not installed, or a quantize the base does not allow."""
    await reap_interrupted()
    found = await fetch_inventory(host)
    where = on_server(host) or " on this server"
    if not found.reachable:
        raise ActionFailed(f"Could not create {request.model}: {found.error}.")
    if found.installed_model(request.model):
        raise ActionFailed(
            f"A model called {request.model} is already installed{where}. Pick another name, "
            "or delete that model first."
        )
    base = found.installed_model(request.base)
    if base is None:
        raise ActionFailed(
            f"The base model {request.base} is not installed{where}. Pick one from the list."
        )
    level = base.details.quantization_level.upper()
    if request.quantize and level not in QUANTIZABLE_LEVELS:
        raise ActionFailed(
            f"{base.name} cannot be quantized: its weights are {level or 'already quantized'}, "
            "and Ollama quantizes only F16 or F32 weights. Keep the base model's weights."
        )
    job_request = {k: v for k, v in asdict(request).items() if k != "model"}
    job_request["base"] = base.name
    pull, created = await sync_to_async(Pull.objects.start_or_join)(
        request.model,
        user,
        host=host,
        lease=PullTiming.lease_seconds,
        kind=Pull.Kind.CREATE,
        request=job_request,
    )
    if not created:
        doing = "created" if pull.is_create else "pulled"
        raise ActionFailed(f"{pull.name} is already being {doing}{where}; wait for it to end.")
    detail = f"from {base.name}"
    await audit.record(
        user, audit.Action.CREATE, pull.name, audit.Outcome.STARTED, detail, host=host
    )
    await start_pull_task(pull)
    return pull


async def copy_model(user: User, host: str, source: str, destination: str) -> str:
    """Copy an installed model under a new name (Ollama would silently replace a model of that
    name, so a taken name is refused first)."""
    found = await fetch_inventory(host)
    if found.installed_model(destination):
        raise ActionFailed(
            f"A model called {destination} is already installed{on_server(host)}. Pick another "
            "name."
        )
    try:
        async with OllamaClient(host) as ollama:
            await ollama.copy(source, destination)
    except OllamaError as error:
        reason = _reason(host, source, error, "copy")
        await audit.record(
            user, audit.Action.COPY, destination, audit.Outcome.FAILED, reason, host=host
        )
        raise ActionFailed(reason) from error
    detail = f"copy of {source}"
    await audit.record(
        user, audit.Action.COPY, destination, audit.Outcome.SUCCEEDED, detail, host=host
    )
    await models_changed.asend(sender=copy_model, host=host)
    await frames.broadcast(frames.inventory(await fetch_inventory(host)))
    return f"Copied {source} to {destination}{on_server(host)}."


async def cancel_pull(user: User, pull_id: uuid.UUID) -> Pull | None:
    """Ask whichever process runs the pull to stop it; None when it is not running."""
    pull = await Pull.objects.running().filter(pk=pull_id).afirst()
    if pull is not None:
        await default_layer().group_send(
            control_group(pull.id),
            {"type": "pull.cancel", "user_id": user.pk, "username": user.username},
        )
    return pull


async def delete_model(user: User, host: str, name: str) -> str:
    """Delete a model installed on `host`; returns the notice, raises ActionFailed with
    Ollama's reason."""
    before = await fetch_inventory(host)
    installed = before.installed_model(name)
    size = filesizeformat(installed.size) if installed else ""
    try:
        async with OllamaClient(host) as ollama:
            await ollama.delete(name)
    except OllamaError as error:
        reason = _reason(host, name, error, "delete")
        await audit.record(user, audit.Action.DELETE, name, audit.Outcome.FAILED, reason, host=host)
        raise ActionFailed(reason) from error
    detail = f"{size} freed" if size else ""
    await audit.record(user, audit.Action.DELETE, name, audit.Outcome.SUCCEEDED, detail, host=host)
    await models_changed.asend(sender=delete_model, host=host)
    await frames.broadcast(frames.inventory(await fetch_inventory(host)))
    return f"Deleted {name}{on_server(host)}" + (f" ({size} freed)." if size else ".")


async def unload_model(user: User, host: str, name: str) -> str:
    """Ask the Ollama server `host` to drop a model from memory now (keep_alive 0)."""
    try:
        async with OllamaClient(host) as ollama:
            await ollama.unload(name)
    except OllamaError as error:
        reason = _reason(host, name, error, "unload")
        await audit.record(user, audit.Action.UNLOAD, name, audit.Outcome.FAILED, reason, host=host)
        raise ActionFailed(reason) from error
    await audit.record(user, audit.Action.UNLOAD, name, audit.Outcome.SUCCEEDED, host=host)
    await frames.broadcast(frames.inventory(await fetch_inventory(host)))
    return f"Unloaded {name} from memory{on_server(host)}."


def on_server(host: str) -> str:
    """ " on <server>" for a notice when there are several servers to tell apart, else ""."""
    return f" on {host}" if len(configured_hosts()) > 1 else ""


def _reason(host: str, name: str, error: OllamaError, verb: str) -> str:
    if isinstance(error, ModelNotFound):
        return (
            f"Could not {verb} {name}{on_server(host)}: Ollama has no model by that name "
            f"(it said: {error.message}). Another admin may have deleted it already."
        )
    return f"Could not {verb} {name}. {error}."
