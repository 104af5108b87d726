"""API keys and usage pages: each person's own (/accounts/keys/, /accounts/usage/) and the
admins' view of everyone's (/manage/keys/, /manage/usage/ with a CSV export)."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatsite.accounts.decorators import admin_required
from chatsite.accounts.requests import AccountRequest
from chatsite.gateway.forms import KeyForm
from chatsite.gateway.models import ApiKey, UsageRecord
from chatsite.gateway.usage import UsageRow, chart, totals, usage_rows

USAGE_DAYS = 30


@login_required
@require_http_methods(["GET", "POST"])
def keys(request: AccountRequest) -> HttpResponse:
    """Your keys; a new key's secret is on this one answer only (never in a URL or session).
    The same form sent again (the browser reloading that answer, a double-click) makes no
    second key."""
    form = KeyForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                _, secret = ApiKey.objects.create_key(
                    request.user,
                    form.cleaned_data["name"],
                    form.expires_at(),
                    form_token=form.cleaned_data["once"],
                )
        except IntegrityError:
            if not _made_by(request, form.cleaned_data["once"]):
                raise
            messages.info(
                request,
                "That form was already sent: its key is in the list below, and its secret was "
                "shown only then. If you did not copy it, revoke the key and create another.",
            )
        form = KeyForm()
    context = {
        "form": form,
        "secret": secret,
        "keys": ApiKey.objects.for_user(request.user),
        "site": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "gateway/keys.html", context)


def _made_by(request: AccountRequest, once: str) -> bool:
    """Whether this key form already made one of the user's keys."""
    return bool(once) and ApiKey.objects.for_user(request.user).filter(form_token=once).exists()


@login_required
@require_POST
def key_revoke(request: AccountRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey.objects.for_user(request.user), pk=pk)
    key.revoke()
    messages.success(request, f"Key “{key.name}” is revoked: it stops working at once.")
    return redirect("gateway:keys")


@admin_required
@require_GET
def manage_keys(request: AccountRequest) -> HttpResponse:
    all_keys = ApiKey.objects.select_related("user")
    return render(request, "gateway/manage_keys.html", {"keys": all_keys})


@admin_required
@require_POST
def manage_key_revoke(request: AccountRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey.objects.select_related("user"), pk=pk)
    key.revoke()
    messages.success(request, f"{key.user.username}'s key “{key.name}” is revoked.")
    return redirect("gateway:manage_keys")


@login_required
@require_GET
def usage(request: AccountRequest) -> HttpResponse:
    rows = usage_rows(USAGE_DAYS, request.user)
    return render(request, "gateway/usage.html", _usage_context(rows, everyone=False))


@admin_required
@require_GET
def manage_usage(request: AccountRequest) -> HttpResponse:
    UsageRecord.objects.reap_expired()
    rows = usage_rows(USAGE_DAYS)
    return render(request, "gateway/usage.html", _usage_context(rows, everyone=True))


@admin_required
@require_GET
def manage_usage_csv(request: AccountRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chatsite-usage.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["day", "user", "source", "model", "requests", "prompt_tokens", "output_tokens"]
    )
    for row in usage_rows(USAGE_DAYS):
        writer.writerow(
            [
                row.day.isoformat(),
                row.username,
                row.source,
                row.model,
                row.requests,
                row.prompt_tokens,
                row.output_tokens,
            ]
        )
    return response


def _usage_context(rows: list[UsageRow], *, everyone: bool) -> dict[str, Any]:
    return {
        "everyone": everyone,
        "days": USAGE_DAYS,
        "chart": chart(rows, USAGE_DAYS),
        "by_model": totals(rows, "model", "source"),
        "by_user": totals(rows, "username") if everyone else [],
        "by_day": sorted(totals(rows, "day", "source"), key=lambda t: t.key, reverse=True),
    }
