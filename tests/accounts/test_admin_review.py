"""The admin review setting (off by default), its review log, and what each user is told."""

from __future__ import annotations

from django.urls import reverse

from chatsite.accounts.models import AdminReviewRecord, SiteSettings
from tests.factories import make_conversation


def test_admin_review_is_off_by_default(db):
    assert SiteSettings.load().admin_review is False


def test_the_site_settings_page_turns_admin_review_on_and_off(admin_client):
    url = reverse("accounts:site_settings")

    turned_on = admin_client.post(
        url, {"signup_mode": "approval", "admin_review": "on"}, follow=True
    )
    stored_on = SiteSettings.load().admin_review
    admin_client.post(url, {"signup_mode": "approval"})

    assert stored_on is True
    assert "Admin review is on." in turned_on.content.decode()
    assert SiteSettings.load().admin_review is False


def test_the_site_settings_page_explains_admin_review(admin_client):
    page = admin_client.get(reverse("accounts:site_settings")).content.decode()

    assert 'name="admin_review"' in page
    assert "Off by default" in page


def test_your_settings_page_says_admin_review_is_off(alice_client):
    page = alice_client.get(reverse("accounts:my_settings")).content.decode()

    assert "Admins cannot open your conversations" in page


def test_your_settings_page_says_admin_review_is_on_and_lists_openings_of_your_chats(
    alice, bob, admin_user, alice_client
):
    settings = SiteSettings.load()
    settings.admin_review = True
    settings.save()
    AdminReviewRecord.objects.record(admin_user, make_conversation(alice, title="Trip to Lisbon"))
    AdminReviewRecord.objects.record(admin_user, make_conversation(bob, title="Bob notes"))

    page = alice_client.get(reverse("accounts:my_settings")).content.decode()

    assert "admins can open your conversations read-only" in page
    assert "Trip to Lisbon" in page
    assert "Bob notes" not in page


def test_your_settings_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("accounts:my_settings"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_review_log_lists_who_opened_whose_conversation_and_when(
    admin_user, admin_client, alice
):
    AdminReviewRecord.objects.record(admin_user, make_conversation(alice, title="Budget"))

    page = admin_client.get(reverse("accounts:review_log")).content.decode()

    assert "ada" in page and "alice" in page and "Budget" in page
    assert "<time datetime=" in page


def test_a_review_record_keeps_the_names_after_the_accounts_are_deleted(admin_user, alice):
    AdminReviewRecord.objects.record(admin_user, make_conversation(alice, title="Budget"))

    alice.delete()

    record = AdminReviewRecord.objects.get()
    assert (record.owner, record.owner_username, record.conversation_title) == (
        None,
        "alice",
        "Budget",
    )


def test_the_main_navigation_links_to_history_and_your_settings(alice_client):
    page = alice_client.get(reverse("accounts:my_settings")).content.decode()

    assert f'href="{reverse("conversations:history")}"' in page
    assert f'href="{reverse("accounts:my_settings")}"' in page
