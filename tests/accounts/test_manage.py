"""The admin pages: 403 for everyone else, the user list and each action, the site settings."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter
from django.utils import timezone

from chatsite.accounts.models import SiteSettings, User
from conversations.models import Message
from tests.factories import make_conversation, make_message, make_user

NEW_PASSWORD = "a-long-unusual-passphrase-42"


def admin_page_routes(
    patterns=None, prefix: str = "", namespace: str = ""
) -> list[tuple[str, dict[str, type]]]:
    """Every named route under /manage/, wherever it is declared: new admin pages join by
    themselves. Each is (name, {kwarg: converter type})."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += admin_page_routes(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern) and entry.name and route.startswith("manage/"):
            converters = {k: type(c) for k, c in entry.pattern.converters.items()}
            found.append((namespace + entry.name, converters))
    return found


def admin_page_url(name: str, converters: dict[str, type], user: User) -> str:
    samples = {IntConverter: user.pk, UUIDConverter: uuid.uuid4()}
    return reverse(name, kwargs={k: samples.get(c, "x") for k, c in converters.items()})


ADMIN_ROUTES = admin_page_routes()


def test_the_admin_pages_are_all_found_for_the_403_check():
    names = {name for name, _ in ADMIN_ROUTES}

    assert {"accounts:users", "accounts:user_delete", "accounts:site_settings"} <= names


@pytest.mark.parametrize(("name", "converters"), ADMIN_ROUTES, ids=[n for n, _ in ADMIN_ROUTES])
@pytest.mark.parametrize("method", ["get", "post"])
def test_members_get_403_on_every_admin_page_and_change_nothing(
    bob_client, alice, name, converters, method
):
    url = admin_page_url(name, converters, alice)
    before = User.objects.values().get(pk=alice.pk)

    response = getattr(bob_client, method)(url, {"signup_mode": "open", "make_admin": "on"})

    assert response.status_code == 403
    assert "This page is for the admins" in response.content.decode()
    assert User.objects.values().get(pk=alice.pk) == before
    assert SiteSettings.load().signup_mode == SiteSettings.SignupMode.APPROVAL


@pytest.mark.parametrize(("name", "converters"), ADMIN_ROUTES, ids=[n for n, _ in ADMIN_ROUTES])
def test_anonymous_visitors_are_sent_to_sign_in_from_admin_pages(client, alice, name, converters):
    response = client.get(admin_page_url(name, converters, alice))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admin_links_show_for_admins_only(admin_client, alice_client):
    users_link = f'href="{reverse("accounts:users")}"'

    assert users_link in admin_client.get(reverse("conversations:index")).content.decode()
    assert users_link not in alice_client.get(reverse("conversations:index")).content.decode()


def test_the_user_list_shows_role_status_and_conversation_counts(admin_client, alice):
    make_conversation(alice)
    make_conversation(alice)
    make_user("waiting", approved=False)
    make_user("gone", is_active=False)

    response = admin_client.get(reverse("accounts:users"))

    rows = {a.username: a for a in response.context["accounts"]}
    assert rows["alice"].conversation_count == 2
    assert [rows[n].status for n in ("alice", "waiting", "gone")] == [
        "active",
        "awaiting",
        "deactivated",
    ]
    page = response.content.decode()
    assert "Awaiting approval" in page and "Deactivated" in page and "Admin" in page


def test_actions_are_post_only(admin_client, alice):
    response = admin_client.get(reverse("accounts:user_deactivate", args=[alice.pk]))

    assert response.status_code == 405
    assert User.objects.get(pk=alice.pk).is_active


def test_an_admin_deactivates_and_reactivates_an_account(admin_client, alice):
    admin_client.post(reverse("accounts:user_deactivate", args=[alice.pk]))
    assert not User.objects.get(pk=alice.pk).is_active

    response = admin_client.post(reverse("accounts:user_reactivate", args=[alice.pk]), follow=True)

    assert User.objects.get(pk=alice.pk).is_active
    assert "alice can sign in again." in response.content.decode()


def test_htmx_actions_answer_with_the_refreshed_row(admin_client, alice):
    response = admin_client.post(
        reverse("accounts:user_make_admin", args=[alice.pk]), HTTP_HX_REQUEST="true"
    )

    page = response.content.decode()
    assert page.lstrip().startswith(f'<tr id="user-{alice.pk}"')
    assert "alice is now an admin." in page and "Remove admin" in page
    assert User.objects.get(pk=alice.pk).is_site_admin


def test_an_admin_removes_another_admins_role(admin_client):
    grace = make_user("grace", admin=True)

    admin_client.post(reverse("accounts:user_remove_admin", args=[grace.pk]))

    grace.refresh_from_db()
    assert not grace.is_staff and not grace.is_superuser


def test_the_last_admin_cannot_remove_their_own_admin_role(admin_client, admin_user):
    response = admin_client.post(
        reverse("accounts:user_remove_admin", args=[admin_user.pk]), follow=True
    )

    assert "needs at least one admin" in response.content.decode()
    assert User.objects.get(pk=admin_user.pk).is_site_admin


def test_an_admin_who_steps_down_is_sent_back_to_chat(admin_client, admin_user):
    make_user("grace", admin=True)

    response = admin_client.post(reverse("accounts:user_remove_admin", args=[admin_user.pk]))

    assert response["Location"] == reverse("conversations:index")
    assert not User.objects.get(pk=admin_user.pk).is_staff
    assert admin_client.get(reverse("accounts:users")).status_code == 403


def test_the_last_admin_cannot_delete_themselves(admin_client, admin_user):
    response = admin_client.post(reverse("accounts:user_delete", args=[admin_user.pk]), follow=True)

    assert "needs at least one admin" in response.content.decode()
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_an_admin_cannot_deactivate_themselves(admin_client, admin_user):
    make_user("grace", admin=True)

    response = admin_client.post(
        reverse("accounts:user_deactivate", args=[admin_user.pk]), follow=True
    )

    assert "You cannot deactivate your own account." in response.content.decode()
    assert User.objects.get(pk=admin_user.pk).is_active


def test_an_admin_who_is_not_the_last_can_delete_themselves(admin_client, admin_user):
    make_user("grace", admin=True)

    response = admin_client.post(reverse("accounts:user_delete", args=[admin_user.pk]))

    assert response["Location"] == reverse("login")
    assert not User.objects.filter(username="ada").exists()


def test_deleting_asks_for_confirmation_first(admin_client, alice):
    make_conversation(alice)

    page = admin_client.get(reverse("accounts:user_delete", args=[alice.pk])).content.decode()

    assert "Delete alice?" in page and "1 conversation." in page
    assert User.objects.filter(pk=alice.pk).exists()


def test_deleting_an_account_deletes_its_conversations(admin_client, alice, bob):
    make_conversation(alice)
    kept = make_conversation(bob)

    response = admin_client.post(reverse("accounts:user_delete", args=[alice.pk]), follow=True)

    assert "alice and their conversations are deleted." in response.content.decode()
    assert not User.objects.filter(username="alice").exists()
    assert [c.pk for c in bob.conversations.all()] == [kept.pk]


def test_an_admin_sets_a_new_password_checked_by_the_validators(admin_client, alice):
    url = reverse("accounts:user_password", args=[alice.pk])

    weak = admin_client.post(url, {"new_password1": "alice", "new_password2": "alice"})
    strong = admin_client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert "too similar to the username" in weak.content.decode()
    assert strong["Location"] == reverse("accounts:users")
    assert User.objects.get(pk=alice.pk).check_password(NEW_PASSWORD)


def test_an_admin_creates_an_account_that_can_use_the_site_at_once(admin_client):
    response = admin_client.post(
        reverse("accounts:user_create"),
        {"username": "newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response["Location"] == reverse("accounts:users")
    newbie = User.objects.get(username="newbie")
    assert newbie.is_approved and not newbie.is_staff and newbie.check_password(NEW_PASSWORD)


def test_an_admin_creating_an_account_is_told_at_once_that_a_username_is_taken(admin_client, alice):
    response = admin_client.post(
        reverse("accounts:user_create"),
        {"username": "ALICE", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"},
    )

    page = response.content.decode()
    assert "That username is taken. Pick another one." in page
    assert "The two password fields didn" in page
    assert User.objects.count() == 2


def test_an_admin_can_create_another_admin(admin_client):
    admin_client.post(
        reverse("accounts:user_create"),
        {
            "username": "chief",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "make_admin": "on",
        },
    )

    assert User.objects.get(username="chief").is_site_admin


def test_the_site_settings_page_stores_the_sign_up_mode(admin_client):
    url = reverse("accounts:site_settings")
    shown = admin_client.get(url).context["form"]["signup_mode"].value()

    response = admin_client.post(url, {"signup_mode": "closed"}, follow=True)

    assert shown == SiteSettings.SignupMode.APPROVAL
    assert SiteSettings.load().signup_mode == SiteSettings.SignupMode.CLOSED
    assert "Sign-up is now Closed" in response.content.decode()


def test_an_unknown_sign_up_mode_is_refused(admin_client):
    response = admin_client.post(reverse("accounts:site_settings"), {"signup_mode": "party"})

    assert "Select a valid choice" in response.content.decode()
    assert SiteSettings.load().signup_mode == SiteSettings.SignupMode.APPROVAL


def test_the_user_list_shows_who_is_generating_now(admin_client, alice, bob):
    live = timezone.now() + timedelta(seconds=15)
    for _ in range(2):
        make_message(
            make_conversation(alice),
            role=Message.Role.ASSISTANT,
            state=Message.State.STREAMING,
            lease_expires_at=live,
        )
    lapsed = timezone.now() - timedelta(seconds=1)  # its process died: not generating
    make_message(
        make_conversation(bob),
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        lease_expires_at=lapsed,
    )

    response = admin_client.get(reverse("accounts:users"))

    rows = {a.username: a for a in response.context["accounts"]}
    assert (rows["alice"].generating, rows["bob"].generating) == (2, 0)
    page = response.content.decode()
    assert "Generating now" in page
    assert '<span class="badge warn">2 replies</span>' in page
