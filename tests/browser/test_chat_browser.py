"""Chat in a real browser: tokens stream in, Stop works, a reload continues, model HTML is inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LONG_TITLE, UNBROKEN_TITLE, LiveSite, fits_window
from tests.factories import make_conversation, make_message, make_user

pytestmark = pytest.mark.browser

SCREENSHOT_REPLY = (
    "Rayleigh scattering is the reason.\n\n"
    "Sunlight hits the molecules of the air, and **short wavelengths** (blue) scatter "
    "much more than long ones (red):\n\n"
    "- blue light is scattered about 5.5 times more than red\n"
    "- at sunset the light crosses more air, so the blues are gone and reds remain\n\n"
    "```python\ndef scattering(wavelength_nm: float) -> float:\n"
    "    return 1 / wavelength_nm ** 4\n```\n\n"
    "That inverse fourth power is the whole story."
)


def words(count: int) -> list[str]:
    return [f"w{i} " for i in range(count)]


def send(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


@pytest.fixture
def alice_chatting(live_site: LiveSite, page: Page, sign_in) -> Page:
    live_site.ollama.add_model("llama3.2:latest")
    sign_in(make_user("alice"))
    page.goto("/")
    return page


def test_a_reply_streams_in_and_the_address_bar_shows_the_conversation(
    live_site: LiveSite, alice_chatting: Page
):
    page = alice_chatting
    live_site.ollama.script_chat(words(40), token_delay=0.05)
    send(page, "Count for me")

    expect(page).to_have_url(re.compile(r"/c/[0-9a-f-]{36}/$"))
    reply = page.locator(".message.assistant").last
    expect(reply).to_contain_text("w3")
    expect(reply.locator(".badge.live")).to_be_visible()  # still writing: tokens arrive live
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(reply).to_contain_text("w39")
    expect(reply).to_contain_text("tokens/s")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_label("Message")).to_have_value("")
    expect(page.locator(".message.user").last).to_contain_text("Count for me")


def test_stop_ends_a_slow_reply_and_keeps_its_text(live_site: LiveSite, alice_chatting: Page):
    page = alice_chatting
    live_site.ollama.script_chat(words(500), token_delay=0.05)
    send(page, "Talk slowly")
    reply = page.locator(".message.assistant").last
    expect(reply).to_contain_text("w2")
    page.get_by_role("button", name="Stop").click()

    expect(reply.locator(".badge")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    live_site.ollama.wait_for(lambda s: s.requests_to("/api/chat")[-1].client_disconnected)
    assert live_site.ollama.tokens_sent() < 500
    page.reload()
    expect(page.locator(".message.assistant").last).to_contain_text("w2")
    expect(page.locator(".message.assistant").last.locator(".badge")).to_have_text("Stopped")


def test_a_reload_mid_stream_shows_the_text_so_far_and_continues(
    live_site: LiveSite, alice_chatting: Page
):
    page = alice_chatting
    live_site.ollama.script_chat(words(60), token_delay=0.05)
    send(page, "Keep going")
    expect(page.locator(".message.assistant").last).to_contain_text("w5")
    page.reload()

    reply = page.locator(".message.assistant").last
    expect(reply).to_contain_text("w5")
    expect(reply).to_contain_text("w59")
    expect(reply).to_contain_text("tokens/s")
    assert reply.inner_text().count("w30 ") == 1  # nothing doubled by the catch-up


def test_html_in_a_reply_is_shown_as_text_and_never_runs(live_site: LiveSite, alice_chatting: Page):
    page = alice_chatting
    live_site.ollama.script_chat(
        [
            "Here: <script>window.pwned = 1</script> ",
            '<img src="x" onerror="window.pwned = 2"> ',
            "[click](javascript:window.pwned=3) done",
        ]
    )
    send(page, "Say something dangerous")
    reply = page.locator(".message.assistant").last
    expect(reply).to_contain_text("done")
    expect(reply).to_contain_text("tokens/s")
    expect(reply).to_contain_text("<script>window.pwned = 1</script>")
    page.reload()
    expect(page.locator(".message.assistant").last).to_contain_text("done")
    assert page.evaluate("window.pwned") is None
    assert page.locator(".message.assistant img").count() == 0
    assert page.locator('.message.assistant a[href^="javascript"]').count() == 0


def test_an_empty_message_is_not_sent_and_a_hint_is_shown(
    live_site: LiveSite, alice_chatting: Page
):
    page = alice_chatting
    page.get_by_label("Message").press("Enter")
    expect(page.locator("#composer-errors")).to_have_text("Type a message first.")
    assert live_site.ollama.requests_to("/api/chat") == []


def test_the_tab_title_follows_the_generated_title_and_a_rename(
    live_site: LiveSite, alice_chatting: Page
):
    page = alice_chatting
    live_site.ollama.script_generate('**Sky colours** "explained".')
    expect(page).to_have_title("New chat · chatsite")
    send(page, "Why is the sky blue?")

    expect(page).to_have_title("Sky colours explained · chatsite")
    expect(page.locator(".chat-head h1")).to_have_text("Sky colours explained")
    expect(page.locator("#conversation-list a.current")).to_have_text("Sky colours explained")
    expect(page.locator(".chat-head h1 span")).to_have_attribute("title", "Sky colours explained")
    [title_request] = live_site.ollama.requests_to("/api/generate")
    assert title_request.body["options"]["num_predict"] == 24

    page.locator(".chat-head").get_by_role("link", name="Rename").click()
    page.get_by_label("New title").fill("Rayleigh")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_title("Rayleigh · chatsite")
    expect(page.locator("#conversation-list a.current span")).to_have_attribute("title", "Rayleigh")


def test_a_long_title_never_widens_the_chat_page_and_shows_whole_in_a_tooltip(
    live_site: LiveSite, page: Page, sign_in
):
    alice = make_user("alice")
    chat = make_conversation(alice, title=LONG_TITLE, title_settled=True)
    make_message(chat, content="Where should we stop first?")
    make_conversation(alice, title=UNBROKEN_TITLE, title_settled=True)
    sign_in(alice)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/c/{chat.id}/")

    head = page.locator(".chat-head")
    expect(head.get_by_title(LONG_TITLE, exact=True)).to_have_text(LONG_TITLE)
    expect(head.locator(".export-links").get_by_role("link", name="Markdown")).to_be_in_viewport(
        ratio=1
    )
    expect(head.get_by_role("link", name="Rename")).to_be_in_viewport(ratio=1)
    sidebar = page.locator("#conversation-list")
    for title in (LONG_TITLE, UNBROKEN_TITLE):
        expect(sidebar.get_by_title(title, exact=True)).to_be_visible()
    assert fits_window(page)
    expect(page).to_have_title(f"{LONG_TITLE} · chatsite")


def test_the_chat_page_screenshot_for_the_readme(
    live_site: LiveSite, alice_chatting: Page, screenshot_dir: Path
):
    page = alice_chatting
    page.set_viewport_size({"width": 1200, "height": 760})
    live_site.ollama.script_chat(SCREENSHOT_REPLY)
    send(page, "Why is the sky blue?")
    expect(page.locator(".message.assistant").last).to_contain_text("tokens/s")
    live_site.ollama.script_chat(re.findall(r"\s*\S+", SCREENSHOT_REPLY), token_delay=0.05)
    send(page, "And why are sunsets red?")
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(page.locator(".message.assistant").nth(1)).to_contain_text("molecules")
    page.screenshot(path=str(screenshot_dir / "chat.png"))
    # Let the reply end (Stop may already be gone on a slow machine) so nothing outlives the test.
    expect(page.locator(".message.assistant").nth(1)).to_contain_text("tokens/s", timeout=30_000)
