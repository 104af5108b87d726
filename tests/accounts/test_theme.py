"""The colour scheme each user picks on their settings page (light, dark, or the device's), and
the <html data-theme> every page is served with, so it is drawn in that scheme from the start."""

from __future__ import annotations

from django.urls import reverse

from chatsite.accounts.models import User

HTML_TAG = '<html lang="en" data-theme="{}">'


def test_a_new_account_follows_its_device(alice):
    assert alice.theme == User.Theme.SYSTEM


def test_the_settings_page_offers_the_three_schemes_with_the_current_one_checked(alice_client):
    page = alice_client.get(reverse("accounts:my_settings")).content.decode()

    for value, label in User.Theme.choices:
        assert f'value="{value}"' in page and label in page
    assert 'value="system" id="id_theme_0" required checked>' in page
    assert page.count(" checked>") == 1
    assert HTML_TAG.format("system") in page


def test_choosing_dark_saves_it_and_every_page_is_served_dark(alice, alice_client):
    response = alice_client.post(reverse("accounts:set_theme"), {"theme": "dark"}, follow=True)

    alice.refresh_from_db()
    assert alice.theme == "dark"
    page = response.content.decode()
    assert "Colour scheme saved." in page
    assert HTML_TAG.format("dark") in page
    for name in ("conversations:index", "conversations:history", "conversations:search"):
        assert HTML_TAG.format("dark") in alice_client.get(reverse(name)).content.decode()


def test_an_unknown_scheme_is_refused_in_plain_words_and_nothing_changes(alice, alice_client):
    alice.theme = "light"
    alice.save(update_fields=["theme"])

    response = alice_client.post(reverse("accounts:set_theme"), {"theme": "neon"})

    assert response.status_code == 400
    assert "Select a valid choice. neon is not one of the available choices." in (
        response.content.decode()
    )
    alice.refresh_from_db()
    assert alice.theme == "light"


def test_the_choice_is_one_users_own(alice, bob, alice_client):
    alice_client.post(reverse("accounts:set_theme"), {"theme": "dark"})

    bob.refresh_from_db()
    assert bob.theme == User.Theme.SYSTEM


def test_signed_out_visitors_cannot_save_a_scheme_and_get_the_devices(client, alice):
    response = client.post(reverse("accounts:set_theme"), {"theme": "dark"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    alice.refresh_from_db()
    assert alice.theme == User.Theme.SYSTEM
    assert HTML_TAG.format("system") in client.get(reverse("login")).content.decode()


def test_saving_a_scheme_is_a_post(alice_client):
    assert alice_client.get(reverse("accounts:set_theme")).status_code == 405
