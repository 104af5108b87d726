"""The models page and its actions, for admins only. Actions are POSTs; htmx gets out-of-band
fragments (a notice, the refreshed parts), a plain form post a redirect back with a message."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatsite.accounts.decorators import admin_required
from chatsite.accounts.requests import AccountRequest
from chatsite.library import actions, frames
from chatsite.library.forms import ModelNameForm, PullForm
from chatsite.library.inventory import fetch_inventory
from chatsite.library.models import AuditEntry, Pull
from chatsite.library.pulls import reap_interrupted
from chatsite.ollama import ModelNotFound, OllamaClient, OllamaError, is_valid_model_name


@admin_required
@require_GET
async def index(request: AccountRequest) -> HttpResponse:
    return render(request, "library/index.html", await _page_context(PullForm()))


@admin_required
@require_POST
async def pull(request: AccountRequest) -> HttpResponse:
    form = PullForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return HttpResponse(_pull_form(request, form))
        return render(request, "library/index.html", await _page_context(form), status=400)
    pull, started = await actions.start_pull(await request.auser(), form.cleaned_data["name"])
    if started:
        text = f"Pulling {pull.name}. It carries on if you leave this page."
    else:
        text = f"{pull.name} is already being pulled; you are watching that pull."
    if not request.htmx:
        messages.success(request, text)
        return redirect("library:index")
    fragments = [
        _pull_form(request, PullForm()),
        frames.notice(text),
        await frames.pull_list(oob=True),
    ]
    return HttpResponse("".join(fragments))


@admin_required
@require_POST
async def cancel_pull(request: AccountRequest, pull_id: uuid.UUID) -> HttpResponse:
    found = await actions.cancel_pull(await request.auser(), pull_id)
    if found is None:
        return _outcome(request, "That pull is not running any more.", failed=True)
    return _outcome(request, f"Cancelling the pull of {found.name}…")


@admin_required
@require_POST
async def unload(request: AccountRequest) -> HttpResponse:
    form = ModelNameForm(request.POST)
    if not form.is_valid():
        return _outcome(request, " ".join(form.errors["name"]), failed=True)
    try:
        text = await actions.unload_model(await request.auser(), form.cleaned_data["name"])
    except actions.ActionFailed as failure:
        return _outcome(request, str(failure), failed=True)
    return _outcome(request, text)


@admin_required
@require_http_methods(["GET", "POST"])
async def delete(request: AccountRequest, name: str) -> HttpResponse:
    """GET asks for confirmation, naming the model and its size; POST deletes it."""
    if not is_valid_model_name(name):
        return _outcome(request, f"“{name}” is not a valid Ollama model name.", failed=True)
    if request.method == "GET":
        inventory = await fetch_inventory()
        context = {"name": name, "inventory": inventory, "model": inventory.installed_model(name)}
        return render(request, "library/delete.html", context)
    try:
        text = await actions.delete_model(await request.auser(), name)
    except actions.ActionFailed as failure:
        return _outcome(request, str(failure), failed=True)
    return _outcome(request, text)


@admin_required
@require_GET
async def details(request: AccountRequest, name: str) -> HttpResponse:
    """What /api/show says about one model: the panel for htmx, a page otherwise."""
    info, error, status = None, "", 200
    if not is_valid_model_name(name):
        error, status = f"“{name}” is not a valid Ollama model name.", 404
    else:
        try:
            async with OllamaClient() as ollama:
                info = await ollama.show(name)
        except OllamaError as failure:
            error, status = str(failure), 404 if isinstance(failure, ModelNotFound) else 502
    context = {"name": name, "info": info, "error": error}
    if request.htmx:  # htmx swaps only 2xx answers; the panel carries the error itself
        return render(request, "library/partials/details.html", context)
    return render(request, "library/details.html", context, status=status)


def _outcome(request: AccountRequest, text: str, *, failed: bool = False) -> HttpResponse:
    if request.htmx:
        return HttpResponse(frames.notice(text, failed=failed))
    (messages.error if failed else messages.success)(request, text)
    return redirect("library:index")


def _pull_form(request: AccountRequest, form: PullForm) -> str:
    context = {"form": form, "oob": True}
    return render_to_string("library/partials/pull_form.html", context, request=request)


async def _page_context(form: PullForm) -> dict[str, Any]:
    await reap_interrupted()
    return {
        "form": form,
        "inventory": await fetch_inventory(),
        "pulls": await sync_to_async(Pull.objects.for_page)(),
        "entries": [entry async for entry in AuditEntry.objects.latest_first()],
    }
