"""The models page (one section per Ollama server) and its actions, for admins only. Actions are
POSTs naming a server, checked against the configured ones; htmx gets out-of-band fragments (a
notice, the refreshed parts), a plain form post a redirect back with a message."""

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
from chatsite.library.forms import CopyForm, CreateModelForm, ModelNameForm, PullForm
from chatsite.library.inventory import fetch_inventories, fetch_inventory
from chatsite.library.models import AuditEntry, Pull
from chatsite.library.pulls import reap_interrupted
from chatsite.ollama import ModelNotFound, OllamaClient, OllamaError


@admin_required
@require_GET
async def index(request: AccountRequest) -> HttpResponse:
    return render(request, "library/index.html", await _page_context())


@admin_required
@require_POST
async def pull(request: AccountRequest) -> HttpResponse:
    form = PullForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return HttpResponse(_pull_form(request, form))
        return render(request, "library/index.html", await _page_context(form), status=400)
    host, name = form.cleaned_data["host"], form.cleaned_data["name"]
    pull, started = await actions.start_pull(await request.auser(), host, name)
    where = actions.on_server(host)
    if started:
        text = f"Pulling {pull.name}{where}. It carries on if you leave this page."
    else:
        text = f"{pull.name} is already being pulled{where}; you are watching that pull."
    if not request.htmx:
        messages.success(request, text)
        return redirect("library:index")
    fragments = [
        _pull_form(request, PullForm(initial={"host": host})),  # the next pull, same server
        frames.notice(text),
        await frames.pull_list(oob=True),
    ]
    return HttpResponse("".join(fragments))


@admin_required
@require_POST
async def create(request: AccountRequest) -> HttpResponse:
    """Create a model from an installed one; it streams on the page like a pull."""
    form = CreateModelForm(request.POST)
    if form.is_valid():
        host = form.cleaned_data["host"]
        try:
            job = await actions.start_create(await request.auser(), host, form.create_request())
        except actions.ActionFailed as failure:
            form.add_error(None, str(failure))
    if not form.is_valid():
        if request.htmx:
            return HttpResponse(await _create_form(request, form))
        return render(request, "library/index.html", await _page_context(create=form), status=400)
    text = f"Creating {job.name} from {job.base}{actions.on_server(host)}. It carries on if you "
    text += "leave this page."
    if not request.htmx:
        messages.success(request, text)
        return redirect("library:index")
    fragments = [
        await _create_form(request, CreateModelForm(initial={"host": host})),
        frames.notice(text),
        await frames.pull_list(oob=True),
    ]
    return HttpResponse("".join(fragments))


@admin_required
@require_http_methods(["GET", "POST"])
async def copy(request: AccountRequest, name: str) -> HttpResponse:
    """GET asks for the new name; POST copies the model (`host` as for delete)."""
    source = _model_on_server(request, name)
    if not source.is_valid():
        return _outcome(request, source.refusal(), failed=True)
    host = source.cleaned_data["host"]
    form = CopyForm(request.POST if request.method == "POST" else None, initial={"host": host})
    if request.method == "POST" and form.is_valid():
        try:
            text = await actions.copy_model(
                await request.auser(), host, name, form.cleaned_data["destination"]
            )
        except actions.ActionFailed as failure:
            form.add_error(None, str(failure))
        else:
            return _outcome(request, text)
    status = 400 if form.errors else 200
    return render(
        request, "library/copy.html", {"name": name, "host": host, "form": form}, status=status
    )


@admin_required
@require_POST
async def cancel_pull(request: AccountRequest, pull_id: uuid.UUID) -> HttpResponse:
    found = await actions.cancel_pull(await request.auser(), pull_id)
    if found is None:
        return _outcome(request, "That pull is not running any more.", failed=True)
    where = actions.on_server(found.host)
    job = "creation" if found.is_create else "pull"
    return _outcome(request, f"Cancelling the {job} of {found.name}{where}…")


@admin_required
@require_POST
async def unload(request: AccountRequest) -> HttpResponse:
    form = ModelNameForm(request.POST)
    if not form.is_valid():
        return _outcome(request, form.refusal(), failed=True)
    host, name = form.cleaned_data["host"], form.cleaned_data["name"]
    try:
        text = await actions.unload_model(await request.auser(), host, name)
    except actions.ActionFailed as failure:
        return _outcome(request, str(failure), failed=True)
    return _outcome(request, text)


@admin_required
@require_http_methods(["GET", "POST"])
async def delete(request: AccountRequest, name: str) -> HttpResponse:
    """GET asks for confirmation, naming the model, its size and its server; POST deletes it.
    The server comes as `host`, in the query string or the form."""
    form = _model_on_server(request, name)
    if not form.is_valid():
        return _outcome(request, form.refusal(), failed=True)
    host = form.cleaned_data["host"]
    if request.method == "GET":
        inventory = await fetch_inventory(host)
        context = {"name": name, "inventory": inventory, "model": inventory.installed_model(name)}
        return render(request, "library/delete.html", context)
    try:
        text = await actions.delete_model(await request.auser(), host, name)
    except actions.ActionFailed as failure:
        return _outcome(request, str(failure), failed=True)
    return _outcome(request, text)


@admin_required
@require_GET
async def details(request: AccountRequest, name: str) -> HttpResponse:
    """What /api/show says about one model on one server (`?host=`): the panel for htmx, a
    page otherwise."""
    form = _model_on_server(request, name)
    info, error, status, host = None, "", 200, ""
    if not form.is_valid():
        error, status = form.refusal(), 404 if "name" in form.errors else 400
    else:
        host = form.cleaned_data["host"]
        try:
            async with OllamaClient(host) as ollama:
                info = await ollama.show(name)
        except OllamaError as failure:
            error, status = str(failure), 404 if isinstance(failure, ModelNotFound) else 502
    context = {"name": name, "host": host, "info": info, "error": error}
    if request.htmx:  # htmx swaps only 2xx answers; the panel carries the error itself
        return render(request, "library/partials/details.html", context)
    return render(request, "library/details.html", context, status=status)


def _outcome(request: AccountRequest, text: str, *, failed: bool = False) -> HttpResponse:
    if request.htmx:
        return HttpResponse(frames.notice(text, failed=failed, oob=False))
    (messages.error if failed else messages.success)(request, text)
    return redirect("library:index")


def _model_on_server(request: AccountRequest, name: str) -> ModelNameForm:
    """The model named in the path, on the server named in the query string or the form."""
    source = request.POST if request.method == "POST" else request.GET
    return ModelNameForm({"name": name, "host": source.get("host", "")})


def _pull_form(request: AccountRequest, form: PullForm) -> str:
    context = {"form": form, "oob": True}
    return render_to_string("library/partials/pull_form.html", context, request=request)


async def _create_form(request: AccountRequest, form: CreateModelForm) -> str:
    """The create form, out of band, with the bases each server has now."""
    context = {"create_form": form, "inventories": await fetch_inventories(), "oob": True}
    return render_to_string("library/partials/create_form.html", context, request=request)


async def _page_context(
    form: PullForm | None = None, *, create: CreateModelForm | None = None
) -> dict[str, Any]:
    await reap_interrupted()
    return {
        "form": form or PullForm(),
        "create_form": create or CreateModelForm(),
        "inventories": await fetch_inventories(),
        "pulls": await sync_to_async(Pull.objects.for_page)(),
        "entries": [entry async for entry in AuditEntry.objects.latest_first()],
    }
