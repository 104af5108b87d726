"""Export and import pages; the work itself is in export.py, store.py and importers.py."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import aget_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods

from chatsite.accounts.requests import AccountRequest
from chatsite.db_threads import in_worker_thread
from conversations.models import Conversation
from conversations.transfer import export as transfer
from conversations.transfer import store
from conversations.transfer.forms import ImportForm, too_big_message
from conversations.transfer.importers import ImportRejected, ParsedFile, read_upload

# Room for the multipart envelope around the file when checking the declared request size.
MULTIPART_ALLOWANCE = 64 * 1024


@login_required
@require_GET
async def export_markdown(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = await _owned(request, conversation_id)
    context = await transfer.markdown_context(conversation)
    # A long conversation takes a while to render: in a worker thread, not on the event loop.
    render = in_worker_thread(render_to_string)
    text = await render("conversations/transfer_export.md", context)
    filename = transfer.export_filename(conversation, "md")
    if not any(item["files"] for item in context["messages"]):
        return _download(HttpResponse(text, content_type="text/markdown; charset=utf-8"), filename)
    # With images or documents: the Markdown and its files, linked by relative paths, in a zip.
    pack = in_worker_thread(transfer.markdown_zip)
    data = await pack(filename, text, context)
    zipped = transfer.export_filename(conversation, "zip")
    return _download(HttpResponse(data, content_type="application/zip"), zipped)


@login_required
@require_GET
async def export_json(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = await _owned(request, conversation_id)
    text = await transfer.single_export(conversation)
    filename = transfer.export_filename(conversation, "json")
    return _download(HttpResponse(text, content_type="application/json"), filename)


@login_required
@require_GET
async def export_all(request: AccountRequest) -> StreamingHttpResponse:
    user = await request.auser()
    response = StreamingHttpResponse(transfer.export_all(user), content_type="application/json")
    return _download(response, f"chatsite-{timezone.localdate().isoformat()}.json")


@login_required
@require_http_methods(["GET", "POST"])
def import_conversations(request: AccountRequest) -> HttpResponse:
    """Upload an export. A file with a mistake is refused whole, saying where; otherwise its
    conversations are stored whole, a batch at a time, and the page says how many.

    A sync view: Django runs it in a thread of its own, so reading and writing a large file
    never holds up the event loop (or anyone else's request)."""
    limit = settings.CHAT_IMPORT_MAX_BYTES
    if request.method == "GET":
        return _import_page(request, ImportForm(max_bytes=limit))
    declared = _declared_length(request)
    if declared > limit + MULTIPART_ALLOWANCE:
        return _import_page(request, ImportForm(max_bytes=limit), too_big_message(declared, limit))
    form = ImportForm(request.POST, request.FILES, max_bytes=limit)
    if not form.is_valid():
        return _import_page(request, form)
    try:
        parsed = read_upload(
            form.cleaned_data["file"].read(),
            max_bytes=limit,
            max_message_chars=settings.CHAT_MAX_MESSAGE_CHARS,
        )
        summary = store.save_imported(request.user, parsed.conversations)
    except ImportRejected as rejection:
        return _import_page(request, form, f"{rejection} Nothing was imported.")
    except store.ImportInterrupted as interruption:
        return _import_page(request, form, interrupted_message(interruption))
    messages.success(request, imported_message(summary, parsed))
    return redirect("conversations:import")


def imported_message(summary: store.ImportSummary, parsed: ParsedFile) -> str:
    sentences = [
        f"Imported {_count(summary.conversations, 'conversation')} with "
        f"{_count(summary.messages, 'message')} from a {parsed.format} export."
    ]
    if summary.split:
        sentences.append(
            f"{_count(summary.split, 'very long conversation')} "
            f"{_was(summary.split)} imported in parts: the titles end with "
            "“(part 1 of …)”, “(part 2 of …)” and so on."
        )
    if parsed.cut_messages:
        sentences.append(
            f"{_count(parsed.cut_messages, 'message')} {_was(parsed.cut_messages)} longer than "
            f"{settings.CHAT_MAX_MESSAGE_CHARS:,} characters and {_was(parsed.cut_messages)} "
            "cut; the cut text ends with a note saying so."
        )
    return " ".join(sentences)


def interrupted_message(interruption: store.ImportInterrupted) -> str:
    saved, error = interruption.saved, interruption.error
    if not saved.conversations:
        return f"The database refused the data ({error}). Nothing was imported."
    rest = interruption.planned - saved.conversations
    return (
        f"Imported {_count(saved.conversations, 'conversation')} whole, with "
        f"{_count(saved.messages, 'message')}; then the database refused the data ({error}), "
        f"so the other {_count(rest, 'conversation')} of the file {_was(rest)} not imported."
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _was(number: int) -> str:
    return "was" if number == 1 else "were"


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _import_page(request: HttpRequest, form: ImportForm, problem: str = "") -> HttpResponse:
    context = {
        "form": form,
        "problem": problem,
        "max_bytes": settings.CHAT_IMPORT_MAX_BYTES,
        "max_message_chars": f"{settings.CHAT_MAX_MESSAGE_CHARS:,}",
    }
    status = 400 if problem or form.errors else 200
    return render(request, "conversations/transfer.html", context, status=status)


async def _owned(request: AccountRequest, conversation_id: uuid.UUID) -> Conversation:
    owned = Conversation.objects.for_user(await request.auser())
    return await aget_object_or_404(owned, pk=conversation_id)


def _download(response: Any, filename: str) -> Any:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
