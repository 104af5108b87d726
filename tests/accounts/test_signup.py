"""Sign-up through the pages, in each sign-up mode, and the approval flow end to end; a taken
username is told only to an otherwise valid attempt, and attempts are limited per address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chatsite.accounts.models import SignupAttempt, SiteSettings, User

Mode = SiteSettings.SignupMode
GOOD_PASSWORD = "a-long-unusual-passphrase-42"


def sign_up(client: Client, username: str, password: str = GOOD_PASSWORD, **extra: str):
    data = {"username": username, "password1": password, "password2": password, **extra}
    return client.post(reverse("accounts:signup"), data)


def set_mode(mode: str) -> None:
    settings = SiteSettings.load()
    settings.signup_mode = mode
    settings.save()


@pytest.mark.django_db
def test_the_first_person_to_sign_up_becomes_admin_and_lands_in_chat(client):
    response = sign_up(client, "founder", display_name="The Founder")

    assert response.status_code == 302
    assert response["Location"] == reverse("conversations:index")
    founder = User.objects.get(username="founder")
    assert founder.is_site_admin and founder.display_name == "The Founder"
    page = client.get(reverse("accounts:users"))
    assert page.status_code == 200
    assert "you are the admin" in page.content.decode()


@pytest.mark.django_db
def test_approval_mode_end_to_end_waiting_page_until_an_admin_approves(
    client, admin_client, admin_user
):
    sign_up(client, "newcomer")
    newcomer = User.objects.get(username="newcomer")
    assert not newcomer.is_approved

    chat = client.get(reverse("conversations:index"))
    assert chat.status_code == 302
    assert chat["Location"] == reverse("accounts:awaiting_approval")
    waiting = client.get(reverse("accounts:awaiting_approval"))
    assert "An admin needs to approve your account" in waiting.content.decode()
    listing = admin_client.get(reverse("accounts:users")).content.decode()
    assert "newcomer" in listing and "Awaiting approval" in listing

    admin_client.post(reverse("accounts:user_approve", args=[newcomer.pk]))

    newcomer.refresh_from_db()
    assert newcomer.is_approved
    assert client.get(reverse("conversations:index")).status_code == 200
    moved_on = client.get(reverse("accounts:awaiting_approval"))
    assert moved_on["Location"] == reverse("conversations:index")


@pytest.mark.django_db
def test_open_mode_end_to_end_new_account_chats_at_once(client, admin_user):
    set_mode(Mode.OPEN)

    response = sign_up(client, "newcomer")

    assert response["Location"] == reverse("conversations:index")
    assert User.objects.get(username="newcomer").is_approved
    assert client.get(reverse("conversations:index")).status_code == 200


@pytest.mark.django_db
def test_closed_mode_end_to_end_the_page_says_closed_and_creates_nobody(client, admin_user):
    set_mode(Mode.CLOSED)

    page = client.get(reverse("accounts:signup"))
    response = sign_up(client, "newcomer")

    assert "Sign-up is closed" in page.content.decode()
    assert "Sign-up is closed" in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()
    assert "Sign up</a>" not in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_the_sign_in_page_links_to_sign_up_while_it_is_open(client, admin_user):
    page = client.get(reverse("login")).content.decode()

    assert f'href="{reverse("accounts:signup")}"' in page


@pytest.mark.django_db
def test_password_validator_messages_are_shown_next_to_the_field(client):
    response = sign_up(client, "newcomer", password="12345")

    page = response.content.decode()
    assert response.status_code == 200
    assert "This password is too short" in page
    assert "This password is too common" in page
    assert not User.objects.exists()


@pytest.mark.django_db
def test_mismatched_passwords_and_taken_usernames_are_refused(client, alice):
    mismatch = client.post(
        reverse("accounts:signup"),
        {"username": "newcomer", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD + "x"},
    )
    taken = sign_up(client, "ALICE")

    assert "The two password fields didn" in mismatch.content.decode()
    assert "That username is taken. Pick another one." in taken.content.decode()
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


@pytest.mark.django_db
def test_signed_in_people_are_sent_from_sign_up_to_chat(alice_client):
    response = alice_client.get(reverse("accounts:signup"))

    assert response["Location"] == reverse("conversations:index")


@pytest.mark.django_db
def test_the_waiting_page_tells_htmx_to_go_to_chat_once_approved(client, admin_user):
    sign_up(client, "newcomer")

    still_waiting = client.get(reverse("accounts:awaiting_approval"), HTTP_HX_REQUEST="true")
    User.objects.filter(username="newcomer").update(is_approved=True)
    approved = client.get(reverse("accounts:awaiting_approval"), HTTP_HX_REQUEST="true")

    assert 'id="awaiting-status"' in still_waiting.content.decode()
    assert "<html" not in still_waiting.content.decode()
    assert approved["HX-Redirect"] == reverse("conversations:index")


@pytest.mark.django_db
def test_sign_in_and_sign_out_work_with_the_real_forms(client, alice):
    signed_in = client.post(
        reverse("login"), {"username": "alice", "password": "correct-horse-battery-staple"}
    )
    assert signed_in.status_code == 302
    assert client.get(reverse("conversations:index")).status_code == 200

    client.post(reverse("logout"))

    assert client.get(reverse("conversations:index"))["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_member_changes_their_password_with_the_validators_applied(alice_client, alice):
    url = reverse("password_change")
    old = "correct-horse-battery-staple"
    weak = alice_client.post(
        url, {"old_password": old, "new_password1": "abc", "new_password2": "abc"}
    )
    strong = alice_client.post(
        url, {"old_password": old, "new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD}
    )

    assert "This password is too short" in weak.content.decode()
    assert strong["Location"] == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password(GOOD_PASSWORD)


INVALID_BESIDES_THE_USERNAME = [
    {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD + "x"},
    {"password1": "12345", "password2": "12345"},
    {"password1": GOOD_PASSWORD},
    {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD, "display_name": "x" * 200},
]


@pytest.mark.django_db
@pytest.mark.parametrize("rest", INVALID_BESIDES_THE_USERNAME)
def test_a_taken_username_gets_the_same_answer_as_a_free_one_while_the_form_is_invalid(
    client, alice, rest
):
    taken = client.post(reverse("accounts:signup"), {"username": "alice", **rest})
    free = client.post(reverse("accounts:signup"), {"username": "nobody-has-this", **rest})

    assert taken.status_code == free.status_code == 200
    assert taken.context["form"].errors == free.context["form"].errors
    assert "taken" not in taken.content.decode()
    assert not SignupAttempt.objects.exists()  # nothing was answered about the username


@pytest.mark.django_db
def test_sign_up_is_limited_per_address_taken_names_included(client, alice, settings):
    settings.SIGNUP_MAX_PER_HOUR = 2
    set_mode(Mode.APPROVAL)

    first = sign_up(client, "ALICE")  # taken: counts, since it was answered
    second = sign_up(Client(), "newcomer")
    third = sign_up(Client(), "latecomer")
    elsewhere = sign_up(Client(REMOTE_ADDR="198.51.100.7"), "latecomer")

    assert "That username is taken" in first.content.decode()
    assert second.status_code == 302
    assert third.status_code == 429
    assert "Too many sign-ups from your network" in third.content.decode()
    assert elsewhere.status_code == 302
    assert sorted(User.objects.values_list("username", flat=True)) == [
        "alice",
        "latecomer",
        "newcomer",
    ]


@pytest.mark.django_db
def test_a_refused_attempt_says_neither_taken_nor_free(client, alice, settings):
    settings.SIGNUP_MAX_PER_HOUR = 1
    sign_up(Client(), "newcomer")

    taken = sign_up(client, "alice")
    free = sign_up(client, "nobody-has-this")

    assert taken.status_code == free.status_code == 429
    assert taken.context["form"].errors == free.context["form"].errors


@pytest.mark.django_db
def test_attempts_with_an_invalid_form_do_not_use_up_the_limit(client, settings):
    settings.SIGNUP_MAX_PER_HOUR = 1
    for _ in range(5):
        sign_up(client, "newcomer", password="12345")

    assert sign_up(client, "newcomer").status_code == 302


@pytest.mark.django_db
def test_attempts_older_than_an_hour_no_longer_count(client, admin_user, settings):
    settings.SIGNUP_MAX_PER_HOUR = 1
    sign_up(Client(), "first")
    SignupAttempt.objects.update(at=timezone.now() - timedelta(hours=1, seconds=1))

    assert sign_up(client, "second").status_code == 302
    assert SignupAttempt.objects.count() == 1  # the old one is gone


@pytest.mark.django_db
def test_errors_on_the_sign_up_page_are_shown_once_and_never_as_none(client, settings):
    settings.SIGNUP_MAX_PER_HOUR = 1
    sign_up(Client(), "first")

    page = sign_up(client, "second").content.decode()

    assert page.count("Too many sign-ups from your network") == 1
    assert "None" not in page
