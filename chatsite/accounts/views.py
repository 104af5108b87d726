"""Sign-up (by the site's sign-up mode) and the page unapproved accounts wait on."""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from chatsite.accounts.forms import SignUpForm, ThemeForm
from chatsite.accounts.models import (
    AdminReviewRecord,
    SignupAttempt,
    SiteSettings,
    User,
    UsernameTaken,
)
from chatsite.accounts.requests import AccountRequest

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
MY_REVIEWS_SHOWN = 50
TOO_MANY_SIGNUPS = "Too many sign-ups from your network in the last hour. Try again later."


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("conversations:index")
    if not User.objects.signup_is_open():
        return render(request, "accounts/signup_closed.html")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _sign_up(request, form)
    return render(request, "accounts/signup.html", {"form": form})


def _sign_up(request: HttpRequest, form: SignUpForm) -> HttpResponse:
    """Whether a username is taken is said only to an otherwise valid attempt within the
    per-address limit (SIGNUP_MAX_PER_HOUR), so names cannot be listed by trying them."""
    address = get_client_ip_address(request) or "unknown"
    if not SignupAttempt.objects.admit(address, settings.SIGNUP_MAX_PER_HOUR):
        form.add_error(None, TOO_MANY_SIGNUPS)
        return render(request, "accounts/signup.html", {"form": form}, status=429)
    try:
        user = User.objects.sign_up(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            display_name=form.cleaned_data["display_name"],
        )
    except UsernameTaken as taken:
        form.add_error("username", str(taken))
        return render(request, "accounts/signup.html", {"form": form})
    if user is None:  # an admin closed sign-up while the form was open
        return render(request, "accounts/signup_closed.html")
    login(request, user, backend=MODEL_BACKEND)
    if user.is_site_admin:
        messages.success(request, "Welcome! As the first account here, you are the admin.")
    if not user.is_approved:
        return redirect("accounts:awaiting_approval")
    return redirect("conversations:index")


@never_cache
@login_required
@require_GET
def awaiting_approval(request: AccountRequest) -> HttpResponse:
    """The only page an unapproved account sees; htmx polls it and leaves once approved."""
    if request.user.is_approved:
        if request.htmx:
            return HttpResponseClientRedirect(reverse("conversations:index"))
        return redirect("conversations:index")
    if request.htmx:
        return render(request, "accounts/partials/awaiting_status.html")
    return render(request, "accounts/awaiting_approval.html")


@login_required
@require_GET
def my_settings(request: AccountRequest) -> HttpResponse:
    """The account's own page: who they are here and whether admins may read their chats."""
    return _my_settings_page(request, ThemeForm(instance=request.user))


def _my_settings_page(
    request: AccountRequest, theme_form: ThemeForm, status: int = 200
) -> HttpResponse:
    context = {
        "admin_review": SiteSettings.load().admin_review,
        "reviews": AdminReviewRecord.objects.about(request.user)[:MY_REVIEWS_SHOWN],
        "theme_form": theme_form,
    }
    return render(request, "accounts/my_settings.html", context, status=status)


@login_required
@require_POST
def set_theme(request: AccountRequest) -> HttpResponse:
    """Light, dark or the device's own: saved on the account, drawn by every page from then on."""
    form = ThemeForm(request.POST, instance=request.user)
    if not form.is_valid():
        return _my_settings_page(request, form, status=400)
    form.save(commit=False).save(update_fields=["theme"])
    messages.success(request, "Colour scheme saved.")
    return redirect("accounts:my_settings")
