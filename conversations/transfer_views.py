"""Search, export and import pages; the work itself is in search.py, transfer.py, importers.py."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import aget_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from conversations import transfer
from conversations.importers import ImportRejected, read_upload
from conversations.models import Conversation
from conversations.search import search as search_conversations
from conversations.transfer_forms import ImportForm, SearchForm, too_big_message

# Room for the multipart envelope around the file when checking the declared request size.
MULTIPART_ALLOWANCE = 64 * 1024


@login_required
@require_GET
async def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    form.is_valid()  # a bad page number falls back to the first page; the words are kept
    query = form.cleaned_data.get("q") or ""
    page = form.cleaned_data.get("page") or 1
    results = await sync_to_async(search_conversations)(await request.auser(), query, page)
    # A history restore asks for the whole page even though htmx sends it.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "partials/search_results" if partial else "search"
    return render(request, f"conversations/{template}.html", {"query": query, "results": results})


@login_required
@require_GET
async def export_markdown(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = await _owned(request, conversation_id)
    context = await transfer.markdown_context(conversation)
    text = render_to_string("conversations/transfer_export.md", context)
    filename = transfer.export_filename(conversation, "md")
    return _download(HttpResponse(text, content_type="text/markdown; charset=utf-8"), filename)


@login_required
@require_GET
async def export_json(request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = await _owned(request, conversation_id)
    text = await transfer.single_export(conversation)
    filename = transfer.export_filename(conversation, "json")
    return _download(HttpResponse(text, content_type="application/json"), filename)


@login_required
@require_GET
async def export_all(request: HttpRequest) -> StreamingHttpResponse:
    user = await request.auser()
    response = StreamingHttpResponse(transfer.export_all(user), content_type="application/json")
    return _download(response, f"chatsite-{timezone.localdate().isoformat()}.json")


@login_required
@require_http_methods(["GET", "POST"])
def import_conversations(request: HttpRequest) -> HttpResponse:
    """Upload an export; every conversation in it is imported, or none and the page says why."""
    limit = settings.CHAT_IMPORT_MAX_BYTES
    if request.method == "GET":
        return _import_page(request, ImportForm(max_bytes=limit))
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > limit + MULTIPART_ALLOWANCE:
        return _import_page(request, ImportForm(max_bytes=limit), too_big_message(declared, limit))
    form = ImportForm(request.POST, request.FILES, max_bytes=limit)
    if not form.is_valid():
        return _import_page(request, form)
    try:
        parsed = read_upload(form.cleaned_data["file"].read(), limit)
        summary = transfer.save_imported(request.user, parsed.conversations)
    except ImportRejected as rejection:
        return _import_page(request, form, f"{rejection} Nothing was imported.")
    except DatabaseError as error:
        problem = f"The database refused the data ({error}). Nothing was imported."
        return _import_page(request, form, problem)
    messages.success(
        request,
        f"Imported {summary.conversations} conversation{'s' if summary.conversations != 1 else ''} "
        f"with {summary.messages} message{'s' if summary.messages != 1 else ''} "
        f"from a {parsed.format} export.",
    )
    return redirect("conversations:import")


def _import_page(request: HttpRequest, form: ImportForm, problem: str = "") -> HttpResponse:
    context = {"form": form, "problem": problem, "max_bytes": settings.CHAT_IMPORT_MAX_BYTES}
    status = 400 if problem or form.errors else 200
    return render(request, "conversations/transfer.html", context, status=status)


async def _owned(request: HttpRequest, conversation_id: uuid.UUID) -> Conversation:
    owned = Conversation.objects.for_user(await request.auser())
    return await aget_object_or_404(owned, pk=conversation_id)


def _download(response: Any, filename: str) -> Any:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
