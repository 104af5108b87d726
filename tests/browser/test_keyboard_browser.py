"""The keyboard in a real browser: shortcuts for a new chat, the message box, stopping a reply and
search, the "?" sheet listing them, and every action reachable with Tab behind a visible ring."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.conftest import DESKTOP, PHONE, SCREENS, LiveSite
from tests.browser.tour import Tour, seed_tour

pytestmark = pytest.mark.browser


@pytest.fixture
def tour(live_site: LiveSite, page: Page, sign_in) -> Tour:
    tour = seed_tour(live_site)
    sign_in(tour.admin)
    return tour


def leave_the_message_box(page: Page) -> None:
    """The chat page puts the cursor in the message box; shortcuts like "/" are for elsewhere."""
    page.evaluate("document.activeElement.blur()")


@pytest.mark.parametrize("context_options", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_question_mark_opens_the_sheet_of_shortcuts_and_esc_closes_it(page: Page, tour: Tour):
    page.goto(tour.pages["history"])
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    for action in (
        "New chat",
        "Focus the message box",
        "Stop the reply",
        "Focus search",
        "Show these shortcuts",
    ):
        expect(sheet).to_contain_text(action)
    page.keyboard.press("Escape")
    expect(sheet).not_to_be_visible()

    # The same sheet from a button, for those who do not know the key.
    if page.get_by_role("button", name="Menu").is_visible():
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Shortcuts").click()
    expect(sheet).to_be_visible()
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).not_to_be_visible()


@pytest.mark.parametrize("context_options", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_slash_focuses_search_even_inside_the_folded_menu(page: Page, tour: Tour):
    page.goto(tour.pages["chat"])
    leave_the_message_box(page)
    page.keyboard.press("/")
    search = page.get_by_label("Search conversations")
    expect(search).to_be_focused()
    expect(search).to_be_visible()
    page.keyboard.type("words")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=words$"))
    # On the search page "/" goes to its own field.
    leave_the_message_box(page)
    page.keyboard.press("/")
    expect(page.get_by_label("Search your conversations")).to_be_focused()


def test_typing_a_slash_or_question_mark_in_the_message_box_is_just_text(page: Page, tour: Tour):
    page.goto(tour.pages["chat"])
    box = page.get_by_label("Message", exact=True)
    box.press("/")
    box.press("?")
    expect(box).to_have_value("/?")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_ctrl_shift_o_starts_a_new_chat_and_shift_esc_returns_to_the_message_box(
    page: Page, tour: Tour
):
    page.goto(tour.pages["history"])
    page.keyboard.press("Control+Shift+O")
    expect(page.get_by_role("heading", name="New chat")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))
    page.get_by_role("link", name="It went wrong").focus()
    page.keyboard.press("Shift+Escape")
    expect(page.get_by_label("Message", exact=True)).to_be_focused()


def test_esc_stops_the_reply_being_written(live_site: LiveSite, page: Page, tour: Tour):
    live_site.ollama.script_chat([f"w{i} " for i in range(400)], token_delay=0.05)
    page.goto(tour.pages["chat"])
    page.get_by_label("Message", exact=True).fill("Talk for a while")
    page.get_by_label("Message", exact=True).press("Enter")
    reply = page.locator(".message.assistant").last
    expect(reply).to_contain_text("w3")
    page.keyboard.press("Escape")
    expect(reply.locator(".badge")).to_have_text("Stopped")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert live_site.ollama.tokens_sent() < 400


def focus_ring(page: Page) -> dict:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return {
            tag: el.tagName, text: (el.textContent || el.getAttribute("aria-label") || "").trim(),
            className: el.className, outline: style.outlineStyle,
            width: parseFloat(style.outlineWidth), visible: el.matches(":focus-visible"),
          };
        }"""
    )


@pytest.mark.parametrize("context_options", SCREENS)
def test_tab_reaches_every_action_on_the_chat_page_with_a_visible_focus_ring(
    page: Page, tour: Tour
):
    page.goto(tour.pages["chat"])
    # Start where a keyboard user starts: the top of the page (not the message box, which the
    # page focuses for those who type at once).
    page.evaluate("document.activeElement.blur(); document.querySelector('.skip-link').focus()")
    reached = []
    for index in range(80):
        if index:
            page.keyboard.press("Tab")
        ring = focus_ring(page)
        if ring["tag"] == "BODY":
            break
        assert ring["visible"] and ring["outline"] != "none" and ring["width"] >= 2, ring
        reached.append(ring["text"] or ring["className"])
        if ring["text"] == "Send":
            break
    phone = (page.viewport_size or {}).get("width", 1280) < 500
    wanted = ["Skip to content", "Rename", "Review", "Markdown", "JSON", "Copy", "Edit"]
    wanted += ["Regenerate", "Send"]
    wanted += ["Menu", "Chats"] if phone else ["History", "Shortcuts", "Sign out", "New chat"]
    missing = [name for name in wanted if not any(name in text for text in reached)]
    assert not missing, f"not reached by Tab: {missing}; reached: {reached}"


def test_a_frame_replacing_the_focused_message_keeps_the_focus_on_its_control(
    page: Page, tour: Tour
):
    # The socket's catch-up on connect re-sends the latest reply; hold it until the keyboard
    # user is on that reply's Regenerate button, then let it through.
    held: list[str | bytes] = []
    sockets: list[WebSocketRoute] = []

    def hold(socket: WebSocketRoute) -> None:
        socket.connect_to_server().on_message(lambda frame: held.append(frame))
        sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws/chat/"), hold)
    page.goto(tour.pages["chat"])
    regenerate = page.get_by_role("button", name="Regenerate")
    regenerate.focus()
    deadline = time.monotonic() + 10
    while not held:
        assert time.monotonic() < deadline, "the socket sent no catch-up"
        page.wait_for_timeout(50)
    page.evaluate("document.querySelector('.message.assistant:last-of-type').dataset.before = '1'")
    for frame in held:
        sockets[0].send(frame)

    expect(page.locator(".message.assistant").last).not_to_have_attribute("data-before", "1")
    expect(page.get_by_role("button", name="Regenerate")).to_be_focused()
