"""Accounts in a real browser: the first sign-up runs the place, the next one waits for approval."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from chatsite.accounts.models import User
from tests.browser.conftest import LiveSite

pytestmark = pytest.mark.browser

PASSWORD = "a-long-unusual-passphrase-42"


def sign_up(page: Page, username: str, display_name: str = "") -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Display name (optional)").fill(display_name)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_first_sign_up_runs_the_site_and_the_next_waits_for_approval(
    live_site: LiveSite, page: Page, chromium: Browser
):
    # The first person becomes the admin and sees the admin links.
    sign_up(page, "founder", display_name="The Founder")
    expect(page).to_have_url(live_site.at("/"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_be_visible()
    expect(nav.get_by_role("link", name="Site settings")).to_be_visible()
    assert User.objects.get(username="founder").is_site_admin
    nav.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    # The second, under the default approval mode, only sees the waiting page.
    sign_up(page, "second")
    expect(page).to_have_url(live_site.at("/accounts/awaiting-approval/"))
    expect(page.get_by_role("heading", name="Awaiting approval")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(live_site.at("/accounts/awaiting-approval/"))
    assert not User.objects.get(username="second").is_approved

    # The founder approves them from the user list (another browser context).
    admin_context = chromium.new_context(base_url=live_site.url)
    try:
        admin = admin_context.new_page()
        sign_in(admin, "founder")
        admin.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
        row = admin.locator("tr", has_text="second")
        expect(row).to_contain_text("Awaiting approval")
        row.get_by_role("button", name="Approve").click()
        expect(row).to_contain_text("second is approved and can chat now.")
    finally:
        admin_context.close()
    assert User.objects.get(username="second").is_approved

    # The waiting page moves on to chat; the second user sees no admin links.
    page.get_by_role("link", name="check again").click()
    expect(page).to_have_url(live_site.at("/"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_text("second")).to_be_visible()
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
