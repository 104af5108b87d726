"""Search, open a result, rename, export: in a real browser against a real daphne."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conversations.models import Message
from tests.browser.conftest import LONG_TITLE, UNBROKEN_TITLE, LiveSite, fits_window
from tests.factories import make_conversation, make_message, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def alices_long_chat(live_site: LiveSite, page: Page, sign_in):
    """A conversation long enough that the matching message starts out of view."""
    alice = make_user("alice")
    chat = make_conversation(alice, title="Weekend plans")
    target = None
    for number in range(30):
        text = f"Filler line {number} about nothing much."
        if number == 3:
            text = "We could rent a kayak on the lake on Saturday."
        role = Message.Role.USER if number % 2 == 0 else Message.Role.ASSISTANT
        message = make_message(chat, role=role, content=text)
        target = message if number == 3 else target
    make_message(make_conversation(make_user("bob")), content="Bob's kayak secret")
    sign_in(alice)
    return chat, target


def test_search_open_the_message_rename_and_export(
    live_site: LiveSite, page: Page, alices_long_chat
):
    chat, target = alices_long_chat
    page.goto("/")

    # The search box in the top bar is a plain form: it works before any script runs.
    page.get_by_label("Search conversations").fill("kayak")
    page.get_by_label("Search conversations").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=kayak$"))
    results = page.locator("#search-results")
    expect(results.locator("mark")).to_have_text(["kayak"])
    expect(results).not_to_contain_text("Bob")

    # Typing on the results page updates them live; a prefix finds the longer word.
    page.locator("#search-q").fill("filler lin*")
    expect(results.locator(".search-hit")).to_have_count(20)
    expect(page).to_have_url(re.compile(r"q=filler(\+|%20)lin"))
    page.locator("#search-q").fill("kay*")
    expect(results.locator(".search-hit")).to_have_count(1)

    results.locator(".search-snippet a").click()
    expect(page).to_have_url(re.compile(rf"/c/{chat.id}/#message-{target.id}$"))
    expect(page.locator(f"#message-{target.id}")).to_be_in_viewport()

    # Rename through the header's inline form, then find the conversation by its new title.
    page.locator(".chat-head").get_by_role("link", name="Rename").click()
    page.get_by_label("New title").fill("Lake trip")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(f"#conversation-title-{chat.id}")).to_have_text("Lake trip")

    with page.expect_download() as markdown:
        page.locator(".export-links").get_by_role("link", name="Markdown").click()
    assert markdown.value.suggested_filename == f"lake-trip-{chat.id.hex[:8]}.md"
    text = Path(markdown.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# Lake trip\n") and "rent a kayak" in text

    with page.expect_download() as exported:
        page.locator(".export-links").get_by_role("link", name="JSON").click()
    document = json.loads(Path(exported.value.path()).read_text(encoding="utf-8"))
    assert document["conversations"][0]["title"] == "Lake trip"
    assert len(document["conversations"][0]["messages"]) == 30

    page.goto("/search/?q=lake+trip")
    expect(page.locator(".title-hit .search-hit-title")).to_have_text("Lake trip")


def test_long_titles_never_widen_the_search_results_and_show_whole_in_a_tooltip(
    live_site: LiveSite, page: Page, sign_in
):
    alice = make_user("alice")
    make_conversation(alice, title=LONG_TITLE)  # found by its title
    chat = make_conversation(alice, title=UNBROKEN_TITLE)
    make_message(chat, content="Which luggage fits on the night train?")  # found by a message
    sign_in(alice)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/search/?q=luggage")

    hits = page.locator("#search-results .search-hit")
    expect(hits).to_have_count(2)
    for title in (LONG_TITLE, UNBROKEN_TITLE):
        expect(
            hits.locator(".search-hit-title").and_(page.get_by_title(title, exact=True))
        ).to_be_visible()
    assert fits_window(page)
