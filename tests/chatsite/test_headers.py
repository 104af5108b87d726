"""Response headers: the Content-Security-Policy everywhere, and signed-in pages kept private."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from chatsite.headers import CONTENT_SECURITY_POLICY


def directives(policy: str) -> dict[str, list[str]]:
    parsed = [part.split() for part in policy.split(";") if part.strip()]
    return {name: sources for name, *sources in parsed}


def test_a_page_carries_the_policy_with_no_inline_script_or_style(client, db):
    response = client.get(reverse("login"))
    policy = directives(response.headers["Content-Security-Policy"])

    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert "unsafe" not in response.headers["Content-Security-Policy"]


def test_a_signed_in_page_and_an_error_carry_the_policy(alice_client):
    page = alice_client.get(reverse("conversations:index"))
    missing = alice_client.get("/no-such-page/")

    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert missing.status_code == 404
    assert missing.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_base_page_has_no_inline_script_style_or_handler(alice_client):
    html = alice_client.get(reverse("conversations:index")).content.decode()

    assert "<style" not in html
    assert " style=" not in html
    assert " hx-on" not in html
    assert all('src="' in tag.split(">", 1)[0] for tag in html.split("<script")[1:])


def test_htmx_is_told_to_evaluate_nothing_and_inject_no_styles(client, db):
    html = client.get(reverse("login")).content.decode()

    assert '"allowEval": false' in html
    assert '"includeIndicatorStyles": false' in html


def test_a_signed_in_users_page_is_private_and_never_stored(alice_client):
    response = alice_client.get(reverse("conversations:index"))

    assert response.headers["Cache-Control"] == "private, no-store"


def test_an_anonymous_page_is_not_marked_private(client, db):
    response = client.get(reverse("accounts:signup"))

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_a_views_own_cache_control_is_kept_for_a_signed_in_user(alice_client, ollama):
    response = alice_client.get(reverse("healthz"))  # never_cache

    assert "max-age=0" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/static/css/app.css", "/static/js/app.js"])
def test_static_files_stay_cacheable_for_a_signed_in_user(settings, alice, path):
    # Whitenoise serves from the source folders here, as it does under DEBUG.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()
    client.force_login(alice)

    response = client.get(path)
    response.close()  # a file response holds the file open until closed

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
