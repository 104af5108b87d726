"""can_use_site and is_site_admin, the checks pages and websocket consumers share, and
socket_may_stay, which open sockets ask when the account changes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from chatsite.accounts.access import can_use_site, is_site_admin, socket_may_stay
from tests.factories import make_user


def test_anonymous_and_missing_users_may_not_use_the_site():
    assert not can_use_site(AnonymousUser())
    assert not can_use_site(None)
    assert not is_site_admin(AnonymousUser())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "uses_site", "is_admin"),
    [
        ({}, True, False),
        ({"admin": True}, True, True),
        ({"approved": False}, False, False),
        ({"is_active": False}, False, False),
        ({"admin": True, "is_active": False}, False, False),
        ({"admin": True, "approved": False}, False, False),
    ],
)
def test_only_active_approved_accounts_use_the_site_and_only_admins_run_it(
    fields, uses_site, is_admin
):
    user = make_user("someone", **fields)

    assert can_use_site(user) is uses_site
    assert is_site_admin(user) is is_admin
    assert user.is_site_admin is is_admin


def signed_in_session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.session.session_key


@pytest.mark.django_db
def test_a_socket_may_stay_while_its_account_and_session_still_sign_it_in():
    alice = make_user("alice")
    session = signed_in_session(alice)

    assert socket_may_stay(alice.pk, session)


@pytest.mark.django_db
def test_a_socket_may_not_stay_once_its_session_is_signed_out():
    alice = make_user("alice")
    client = Client()
    client.force_login(alice)
    session = client.session.session_key
    other = signed_in_session(alice)

    assert not socket_may_stay(alice.pk, session, ended_session=session)  # while signing out
    client.post(reverse("logout"))

    assert not socket_may_stay(alice.pk, session)
    assert socket_may_stay(alice.pk, other)


@pytest.mark.django_db
def test_a_password_change_ends_every_session_for_sockets():
    alice = make_user("alice")
    session = signed_in_session(alice)

    alice.set_password("a-long-unusual-passphrase-42")
    alice.save()

    assert not socket_may_stay(alice.pk, session)


@pytest.mark.django_db
def test_a_session_of_someone_else_or_none_never_lets_a_socket_stay():
    alice, bob = make_user("alice"), make_user("bob")

    assert not socket_may_stay(alice.pk, signed_in_session(bob))
    assert not socket_may_stay(alice.pk, None)
    assert not socket_may_stay(alice.pk, "no-such-session-key")


@pytest.mark.django_db
def test_the_admin_check_also_needs_the_admin_role():
    ada, alice = make_user("ada", admin=True), make_user("alice")

    assert socket_may_stay(ada.pk, signed_in_session(ada), admin=True)
    assert not socket_may_stay(alice.pk, signed_in_session(alice), admin=True)


@pytest.mark.django_db
def test_a_session_made_before_the_secret_key_was_rotated_still_counts(settings):
    alice = make_user("alice")
    session = signed_in_session(alice)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40

    assert socket_may_stay(alice.pk, session)
