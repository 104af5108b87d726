"""AccountStateMiddleware: unapproved accounts reach only the waiting page; visits set last seen."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from chatsite.accounts.models import User
from tests.factories import make_user


@pytest.fixture
def waiting_client(db) -> Client:
    client = Client()
    client.force_login(make_user("waiting", approved=False))
    return client


@pytest.mark.parametrize(
    "name", ["conversations:index", "password_change", "accounts:users", "login", "admin:index"]
)
def test_unapproved_accounts_are_sent_to_the_waiting_page_from_any_page(waiting_client, name):
    response = waiting_client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:awaiting_approval")


def test_htmx_requests_from_unapproved_accounts_get_a_client_redirect(waiting_client):
    response = waiting_client.get(reverse("conversations:index"), HTTP_HX_REQUEST="true")

    assert response["HX-Redirect"] == reverse("accounts:awaiting_approval")


def test_unapproved_accounts_can_still_sign_out(waiting_client):
    response = waiting_client.post(reverse("logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in waiting_client.session


def test_a_page_view_records_last_seen(alice_client, alice):
    assert User.objects.get(pk=alice.pk).last_seen is None

    alice_client.get(reverse("conversations:index"))

    assert User.objects.get(pk=alice.pk).last_seen is not None


def test_deactivated_accounts_are_signed_out_on_their_next_request(alice_client, alice):
    User.objects.filter(pk=alice.pk).update(is_active=False)

    response = alice_client.get(reverse("conversations:index"))

    assert response["Location"].startswith(reverse("login"))
