"""Chat in a real browser: tokens stream in, Stop works, a reload continues, model HTML is inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite
from tests.factories import make_user

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
