"""Brute-force protection on sign-in (django-axes): per username, per address, plain message."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

NEW_PASSWORD = "a-long-unusual-passphrase-42"


@pytest.fixture(autouse=True)
def three_failures_lock(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    data = {"username": username, "password": password}
    return client.post(reverse("login"), data, REMOTE_ADDR=address)


def test_repeated_failures_for_a_username_lock_it_even_with_the_right_password(client, alice):
    first, second, third = (sign_in(client, "alice", "wrong") for _ in range(3))

    locked = sign_in(client, "alice", PASSWORD)

    assert (first.status_code, second.status_code) == (200, 200)
    assert third.status_code == locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-in attempts" in page and "wait 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_a_username_lock_holds_from_another_address(client, alice):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        sign_in(client, "alice", "wrong", address)

    assert sign_in(client, "alice", PASSWORD, "10.0.0.9").status_code == 429


def test_repeated_failures_from_one_address_lock_it_for_every_username(client, alice):
    for username in ("mallory1", "mallory2", "mallory3"):
        sign_in(client, username, "wrong")

    assert sign_in(client, "alice", PASSWORD).status_code == 429
    assert sign_in(client, "alice", PASSWORD, "10.0.0.2").status_code == 302


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(client, alice):
    for _ in range(2):
        sign_in(client, "alice", "wrong")

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_a_failed_sign_in_says_so_plainly(client, alice):
    page = sign_in(client, "alice", "wrong").content.decode()

    assert "Please enter a correct username and password" in page


def test_an_admin_setting_a_new_password_ends_the_lockout(client, admin_client, alice):
    for _ in range(3):
        sign_in(client, "alice", "wrong", "10.0.0.1")
    url = reverse("accounts:user_password", args=[alice.pk])
    admin_client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert sign_in(client, "alice", NEW_PASSWORD, "10.0.0.5").status_code == 302
