"""The history page and managing conversations from it: list and filter, rename, pin, archive,
delete, and bulk actions. Every query starts from Conversation.objects.for_user().

Flag changes use queryset update(), which leaves updated_at alone: pinning or renaming a
conversation is not activity and must not reorder the list.
"""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from chatsite.accounts.models import User
from chatsite.accounts.requests import AccountRequest
from conversations.chat.forms import form_errors
from conversations.chat.titles import announce_title
from conversations.history.forms import BulkForm, HistoryFilterForm, RenameForm
from conversations.models import Conversation, ConversationQuerySet

PER_PAGE = 50
LIST_FIELDS = ("id", "title", "model", "pinned", "archived", "updated_at")


@login_required
@require_GET
def history(request: AccountRequest) -> HttpResponse:
    """The page; htmx asks for the results (filters changed) or the next rows (scrolling)."""
    form = HistoryFilterForm(request.GET or None)
    whole = not request.htmx or request.htmx.boosted or request.htmx.target == "history-results"
    context = history_context(request.user, form, whole=whole)
    if request.htmx and not request.htmx.boosted:
        partial = "history_results" if whole else "history_rows"
        return render(request, f"conversations/partials/{partial}.html", context)
    response = render(request, "conversations/history.html", context)
    # A boosted form posts, is redirected here, and should leave this address in the bar.
    return push_url(response, request.get_full_path()) if request.htmx else response


def history_context(user: User, form: HistoryFilterForm, *, whole: bool) -> dict[str, Any]:
    """One page of rows: 51 rows fetched to know whether there is a next page, no COUNT(*) on
    scroll; message counts only for the rows shown (one grouped query)."""
    owned = Conversation.objects.for_user(user)
    chosen = form.filtered(owned)
    page = form.page_number()
    start = (page - 1) * PER_PAGE
    rows = list(chosen.pinned_first().only(*LIST_FIELDS)[start : start + PER_PAGE + 1])
    next_page = page + 1 if len(rows) > PER_PAGE else None
    rows = rows[:PER_PAGE]
    counts = owned.message_counts([row.pk for row in rows])
    for row in rows:
        row.message_count = counts.get(row.pk, 0)  # type: ignore[attr-defined]  # for the template only
    context = {
        "form": form,
        "errors": form_errors(form) if form.is_bound else [],
        "conversations": rows,
        "page": page,
        "next_page": next_page,
        "next_query": form.query_string(page=next_page),
        "back": reverse("conversations:history") + form.query_string(),
    }
    if whole:
        context["total"] = chosen.count()
        context["models"] = _models_used(owned)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def rename(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """GET: the inline form (htmx) or a small page; POST: save a trimmed 1–200 character title."""
    conversation = _owned(request.user, conversation_id)
    initial = {"title": conversation.title, "place": _place(request)}
    form = RenameForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        conversation.title = form.cleaned_data["title"]
        # A title the user gave is never replaced by a generated one.
        _owned_only(request.user, conversation_id).update(
            title=conversation.title, title_settled=True
        )
        async_to_sync(announce_title)(request.user.pk, conversation.id, conversation.title)
        if request.htmx:
            place = form.cleaned_data["place"]
            context = {"conversation": conversation, "place": place, "renamed": True}
            return render(request, "conversations/partials/conversation_title.html", context)
        messages.success(request, f"Renamed to “{conversation.title}”.")
        return redirect(_back(request))
    context = {"conversation": conversation, "form": form, "back": _back(request)}
    if request.htmx:
        return render(request, "conversations/partials/history_rename.html", context)
    status = 400 if form.is_bound else 200
    return render(request, "conversations/history_rename.html", context, status=status)


@login_required
@require_GET
def title(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """The title as shown (what "Cancel" on the inline rename form goes back to)."""
    conversation = _owned(request.user, conversation_id)
    if not request.htmx:
        return redirect("conversations:history")
    context = {"conversation": conversation, "place": _place(request)}
    return render(request, "conversations/partials/conversation_title.html", context)


@login_required
@require_POST
def pin(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    return _set_flag(request, conversation_id, "pinned", True, "Pinned “{}”.")


@login_required
@require_POST
def unpin(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    return _set_flag(request, conversation_id, "pinned", False, "Unpinned “{}”.")


@login_required
@require_POST
def archive(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    return _set_flag(request, conversation_id, "archived", True, "Archived “{}”.")


@login_required
@require_POST
def unarchive(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    return _set_flag(request, conversation_id, "archived", False, "“{}” is back from the archive.")


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """GET asks for confirmation (a real page); POST deletes the conversation and its messages."""
    owned = _owned_only(request.user, conversation_id)
    conversation = get_object_or_404(owned.annotate(message_count=Count("messages")))
    if request.method == "POST":
        owned.delete()
        messages.success(request, f"Deleted “{conversation}”.")
        return redirect(_back(request))
    context = {"conversation": conversation, "back": _back(request)}
    return render(request, "conversations/history_delete.html", context)


@login_required
@require_POST
def bulk(request: AccountRequest) -> HttpResponse:
    """Archive, unarchive or delete the selected conversations; deleting asks first.

    Ids are validated as UUIDs and filtered through for_user: a foreign or vanished id is
    counted as not found and never acted on; a selection with no conversation of yours is 404.
    """
    form = BulkForm(request.POST)
    if not form.is_valid():
        for error in form_errors(form):
            messages.error(request, error)
        return redirect(_back(request))
    ids = form.cleaned_data["ids"]
    chosen = Conversation.objects.for_user(request.user).filter(pk__in=ids)
    found = chosen.count()
    if not found:
        raise Http404("None of the selected conversations exist")
    action = form.cleaned_data["action"]
    if action == "delete" and not form.cleaned_data["confirm"]:
        context = {
            "conversations": chosen.pinned_first().only(*LIST_FIELDS),
            "back": _back(request),
        }
        return render(request, "conversations/history_bulk_delete.html", context)
    done = _apply(chosen, action)
    notice = f"{_verb(action)} {done} conversation{'s' if done != 1 else ''}."
    if missing := len(ids) - found:
        notice += (
            f" {missing} selected conversation{'s were' if missing != 1 else ' was'} not found."
        )
    messages.success(request, notice)
    return redirect(_back(request))


def _apply(chosen: ConversationQuerySet, action: str) -> int:
    if action == "delete":
        return chosen.delete()[1].get(Conversation._meta.label, 0)
    return chosen.update(archived=action == "archive")


def _verb(action: str) -> str:
    return {"archive": "Archived", "unarchive": "Unarchived", "delete": "Deleted"}[action]


def _set_flag(
    request: AccountRequest, conversation_id: uuid.UUID, field: str, value: bool, notice: str
) -> HttpResponse:
    conversation = _owned(request.user, conversation_id)
    _owned_only(request.user, conversation_id).update(**{field: value})
    messages.success(request, notice.format(conversation))
    return redirect(_back(request))


def _place(request: AccountRequest) -> str:
    """Where the title is shown: the chat header, or (anything else) a history row."""
    return "header" if request.GET.get("place") == "header" else ""


def _owned_only(user: User, conversation_id: uuid.UUID) -> ConversationQuerySet:
    return Conversation.objects.for_user(user).filter(pk=conversation_id)


def _owned(user: User, conversation_id: uuid.UUID) -> Conversation:
    return get_object_or_404(_owned_only(user, conversation_id))


def _back(request: AccountRequest) -> str:
    """Where to go after an action: the history page with its filters, or a safe `next`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("conversations:history")


def _models_used(owned: ConversationQuerySet) -> list[str]:
    return list(
        owned.exclude(model="").order_by("model").values_list("model", flat=True).distinct()
    )
