"""The history page in a real browser: rename inline, pin to the top, archive and find it again."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from chatsite.accounts.models import User
from conversations.models import Conversation
from tests.browser.conftest import LONG_TITLE, UNBROKEN_TITLE, LiveSite, fits_window
from tests.factories import make_conversation, make_message, make_user

pytestmark = pytest.mark.browser


def conversation_days_ago(owner: User, title: str, days: int) -> Conversation:
    conversation = make_conversation(owner, title=title)
    make_message(conversation)
    when = timezone.now() - timedelta(days=days)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=when)
    return conversation


def test_history_renames_inline_pins_to_the_top_and_archives(
    live_site: LiveSite, page: Page, sign_in: Callable[[User], None]
):
    alice = make_user("alice")
    oldest = conversation_days_ago(alice, "Alpha plans", 3)
    conversation_days_ago(alice, "Beta notes", 2)
    conversation_days_ago(alice, "Gamma draft", 1)
    sign_in(alice)

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    expect(page).to_have_url(live_site.at("/history/"))
    rows = page.locator("#history-rows tr.history-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Gamma draft")

    # Rename inline: the form replaces the title, saving puts the new title back in the row.
    page.get_by_role("link", name="Rename Alpha plans").click()
    title_input = page.get_by_label("New title")
    expect(title_input).to_have_value("Alpha plans")
    title_input.fill("  Alpha, renamed  ")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Alpha, renamed", exact=True)).to_be_visible()
    expect(title_input).to_have_count(0)
    assert Conversation.objects.get(pk=oldest.pk).title == "Alpha, renamed"

    # An empty title is refused where it was typed.
    page.get_by_role("link", name="Rename Alpha, renamed").click()
    page.get_by_label("New title").fill("   ")
    page.get_by_label("New title").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("A title cannot be empty.")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("link", name="Alpha, renamed", exact=True)).to_be_visible()

    # Pin the oldest: it moves to the top of the list and of the chat sidebar.
    rows.filter(has_text="Alpha, renamed").get_by_role("button", name="Pin").click()
    expect(page.get_by_role("status").filter(has_text="Pinned")).to_be_visible()
    expect(rows.first).to_contain_text("Alpha, renamed")
    expect(rows.first).to_contain_text("Pinned")

    # Archive one: it leaves the default list and shows with the archived filter.
    rows.filter(has_text="Beta notes").get_by_role("button", name="Archive").click()
    expect(page.get_by_text("Archived “Beta notes”.")).to_be_visible()
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Beta notes")).to_have_count(0)
    page.get_by_label("Archived", exact=True).select_option("only")
    expect(page).to_have_url(re.compile(r"/history/\?.*archived=only"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Beta notes")

    page.goto("/")
    sidebar = page.locator("#conversation-list a")
    expect(sidebar.first).to_have_text("Alpha, renamed")
    expect(page.locator("#conversation-list")).not_to_contain_text("Beta notes")


def test_long_titles_never_widen_the_history_page_and_show_whole_in_a_tooltip(
    live_site: LiveSite, page: Page, sign_in: Callable[[User], None]
):
    alice = make_user("alice")
    conversation_days_ago(alice, LONG_TITLE, 1)
    conversation_days_ago(alice, UNBROKEN_TITLE, 2)
    sign_in(alice)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/history/")

    rows = page.locator("#history-rows tr.history-row")
    expect(rows).to_have_count(2)
    for title in (LONG_TITLE, UNBROKEN_TITLE):
        expect(rows.get_by_title(title, exact=True)).to_be_visible()
    expect(rows.first.get_by_role("button", name="Archive")).to_be_in_viewport(ratio=1)
    assert fits_window(page)
