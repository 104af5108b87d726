"""Assistant pages: personal ones at /assistants/ (their owner only), shared ones at
/manage/assistants/ (admins only). One set of small views serves both through a Scope."""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatsite.accounts.decorators import admin_required
from chatsite.accounts.models import User
from chatsite.accounts.requests import AccountRequest
from conversations.assistants.forms import AssistantForm
from conversations.assistants.models import Assistant, AssistantQuerySet
from conversations.chat.catalog import load_catalog
from conversations.chat.model_access import load_model_access


@dataclass(frozen=True)
class Scope:
    shared: bool

    @property
    def prefix(self) -> str:
        return "shared" if self.shared else "mine"

    @property
    def title(self) -> str:
        return "Shared assistants" if self.shared else "My assistants"

    def assistants(self, user: User) -> AssistantQuerySet:
        return Assistant.objects.shared() if self.shared else Assistant.objects.owned_by(user)


MINE, SHARED = Scope(shared=False), Scope(shared=True)


@login_required
@require_GET
def mine(request: AccountRequest) -> HttpResponse:
    return _list(request, MINE)


@admin_required
@require_GET
def shared(request: AccountRequest) -> HttpResponse:
    return _list(request, SHARED)


@login_required
@require_http_methods(["GET", "POST"])
def mine_new(request: AccountRequest) -> HttpResponse:
    return _edit(request, MINE, None)


@admin_required
@require_http_methods(["GET", "POST"])
def shared_new(request: AccountRequest) -> HttpResponse:
    return _edit(request, SHARED, None)


@login_required
@require_http_methods(["GET", "POST"])
def mine_edit(request: AccountRequest, pk: int) -> HttpResponse:
    return _edit(request, MINE, _found(request, MINE, pk))


@admin_required
@require_http_methods(["GET", "POST"])
def shared_edit(request: AccountRequest, pk: int) -> HttpResponse:
    return _edit(request, SHARED, _found(request, SHARED, pk))


@login_required
@require_POST
def mine_delete(request: AccountRequest, pk: int) -> HttpResponse:
    return _delete(request, MINE, _found(request, MINE, pk))


@admin_required
@require_POST
def shared_delete(request: AccountRequest, pk: int) -> HttpResponse:
    return _delete(request, SHARED, _found(request, SHARED, pk))


def _found(request: AccountRequest, scope: Scope, pk: int) -> Assistant:
    try:
        return scope.assistants(request.user).get(pk=pk)
    except Assistant.DoesNotExist:
        raise Http404("No such assistant") from None


def _list(request: AccountRequest, scope: Scope) -> HttpResponse:
    context = {"scope": scope, "assistants": list(scope.assistants(request.user))}
    if not scope.shared:
        access = load_model_access()
        offered = Assistant.objects.shared().order_by("name")
        context["offered"] = [a for a in offered if access.allows(request.user, a.model)]
    return render(request, "assistants/list.html", context)


def _edit(request: AccountRequest, scope: Scope, assistant: Assistant | None) -> HttpResponse:
    catalog = async_to_sync(load_catalog)()
    models = [c.name for c in load_model_access().choices_for(request.user, catalog)]
    initial = AssistantForm.initial_for(assistant) if assistant else {"think": True}
    form = AssistantForm(request.POST or None, initial=initial, models=models)
    if request.method == "POST" and form.is_valid():
        saved = form.apply(assistant or Assistant(owner=None if scope.shared else request.user))
        saved.save()
        messages.success(request, f"Saved the assistant {saved.name}.")
        return redirect(f"assistants:{scope.prefix}")
    context = {"scope": scope, "assistant": assistant, "form": form, "catalog": catalog}
    return render(request, "assistants/form.html", context, status=400 if form.errors else 200)


def _delete(request: AccountRequest, scope: Scope, assistant: Assistant) -> HttpResponse:
    assistant.delete()
    messages.success(
        request,
        f"Deleted the assistant {assistant.name}. Conversations started from it are kept, with "
        "the settings they copied.",
    )
    return redirect(f"assistants:{scope.prefix}")
