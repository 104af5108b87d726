"""Admin pages inside the site: the user list and its actions, and the site settings.

Every view is admin_required (403 for everyone else); every change is a POST. Row actions
answer htmx with the refreshed row and plain form posts with a redirect to the list.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from axes.utils import reset as reset_lockouts
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.forms import SetPasswordForm
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from chatsite.accounts.decorators import admin_required
from chatsite.accounts.forms import NewAccountForm, SiteSettingsForm
from chatsite.accounts.live import revoke_sockets
from chatsite.accounts.models import AdminReviewRecord, LastAdminError, SiteSettings, User
from chatsite.accounts.requests import AccountRequest
from conversations.chat.catalog import load_catalog
from conversations.chat.fair_use import generating_now

REVIEW_LOG_PER_PAGE = 100


def _row_or_list(
    request: AccountRequest, account: User, notice: str, *, failed: bool = False
) -> HttpResponse:
    """htmx gets the account's refreshed row with the notice in it; a plain post, the list."""
    if request.htmx:
        row = User.objects.with_conversation_count().get(pk=account.pk)
        row.generating = generating_now([row.pk]).get(row.pk, 0)  # type: ignore[attr-defined]  # for the template only
        context = {
            "account": row,
            "notice": notice,
            "failed": failed,
            "admin_review": SiteSettings.load().admin_review,
        }
        return render(request, "accounts/partials/user_row.html", context)
    (messages.error if failed else messages.success)(request, notice)
    return redirect("accounts:users")


@admin_required
@require_GET
def users(request: AccountRequest) -> HttpResponse:
    accounts = list(User.objects.with_conversation_count().order_by("is_approved", "date_joined"))
    generating = generating_now([account.pk for account in accounts])
    for account in accounts:
        account.generating = generating.get(account.pk, 0)  # type: ignore[attr-defined]  # for the template only
    context = {"accounts": accounts, "admin_review": SiteSettings.load().admin_review}
    return render(request, "accounts/users.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def user_create(request: AccountRequest) -> HttpResponse:
    form = NewAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = form.save()
        messages.success(request, f"Account {account.username} created. Tell them their password.")
        return redirect("accounts:users")
    return render(request, "accounts/user_create.html", {"form": form})


@admin_required
@require_POST
def user_approve(request: AccountRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    User.objects.approve(account)
    return _row_or_list(request, account, f"{account.username} is approved and can chat now.")


@admin_required
@require_POST
def user_deactivate(request: AccountRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    if account == request.user:
        return _row_or_list(
            request, account, "You cannot deactivate your own account.", failed=True
        )
    try:
        User.objects.set_active(account, False)
    except LastAdminError as error:
        return _row_or_list(request, account, str(error), failed=True)
    revoke_sockets(account.pk)
    return _row_or_list(request, account, f"{account.username} is deactivated and signed out.")


@admin_required
@require_POST
def user_reactivate(request: AccountRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    User.objects.set_active(account, True)
    return _row_or_list(request, account, f"{account.username} can sign in again.")


@admin_required
@require_POST
def user_make_admin(request: AccountRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    User.objects.set_admin(account, True)
    return _row_or_list(request, account, f"{account.username} is now an admin.")


@admin_required
@require_POST
def user_remove_admin(request: AccountRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    try:
        User.objects.set_admin(account, False)
    except LastAdminError as error:
        return _row_or_list(request, account, str(error), failed=True)
    revoke_sockets(account.pk)
    if account == request.user:  # these pages are no longer theirs
        messages.success(request, "You are no longer an admin.")
        chat = reverse("conversations:index")
        return HttpResponseClientRedirect(chat) if request.htmx else redirect(chat)
    return _row_or_list(request, account, f"{account.username} is no longer an admin.")


@admin_required
@require_http_methods(["GET", "POST"])
def user_password(request: AccountRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(User, pk=pk)
    form = SetPasswordForm(account, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        reset_lockouts(username=account.username)  # a new password ends any sign-in lockout
        if account == request.user:
            update_session_auth_hash(request, account)
        messages.success(request, f"New password set for {account.username}.")
        return redirect("accounts:users")
    return render(request, "accounts/user_password.html", {"account": account, "form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def user_delete(request: AccountRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes the account and its conversations."""
    account = get_object_or_404(User.objects.with_conversation_count(), pk=pk)
    if request.method == "POST":
        deleting_self = account.pk == request.user.pk
        try:
            User.objects.remove(account)
        except LastAdminError as error:
            messages.error(request, str(error))
            return redirect("accounts:users")
        revoke_sockets(account.pk)
        if deleting_self:
            logout(request)
            return redirect("login")
        messages.success(request, f"{account.username} and their conversations are deleted.")
        return redirect("accounts:users")
    return render(request, "accounts/user_delete.html", {"account": account})


@admin_required
@require_http_methods(["GET", "POST"])
def site_settings(request: AccountRequest) -> HttpResponse:
    catalog = async_to_sync(load_catalog)()
    form = SiteSettingsForm(
        request.POST or None,
        instance=SiteSettings.load(),
        chat_models=[choice.name for choice in catalog.chat_models],
    )
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        review = "on" if saved.admin_review else "off"
        models = f"only {len(saved.member_models)}" if saved.restrict_member_models else "all"
        messages.success(
            request,
            f"Saved. Sign-up is now {saved.get_signup_mode_display()}. Admin review is {review}. "
            f"Members may use {models} models.",
        )
        return redirect("accounts:site_settings")
    return render(request, "accounts/site_settings.html", {"form": form, "catalog": catalog})


@admin_required
@require_GET
def review_log(request: AccountRequest) -> HttpResponse:
    """Every time an admin opened someone else's conversation, newest first."""
    records = Paginator(AdminReviewRecord.objects.all(), REVIEW_LOG_PER_PAGE)
    context = {"page": records.get_page(request.GET.get("page")), "settings": SiteSettings.load()}
    return render(request, "accounts/review_log.html", context)
