"""Layout on a phone (390 x 844, and 360 to 430 wide) and a laptop (1280 x 860), light and dark:
no page scrolls sideways, the sidebar is a drawer and the navigation a menu on a phone, the
composer stays at the bottom, tables become stacked rows; the colour scheme follows the device
until the user picks one, and the page is drawn in it from the first byte."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from chatsite.accounts.models import User
from tests.browser.conftest import DESKTOP, PHONE, SCREENS, LiveSite, fits_window
from tests.browser.tour import CODE_REPLY, SIGNED_OUT_PAGES, Tour, more_pages, seed_tour
from tests.factories import make_message

pytestmark = pytest.mark.browser

DARK_PHONE = {**PHONE, "color_scheme": "dark"}
DARK_DESKTOP = {**DESKTOP, "color_scheme": "dark"}


@pytest.fixture
def tour(live_site: LiveSite, page: Page, sign_in) -> Tour:
    tour = seed_tour(live_site)
    sign_in(tour.admin)
    return tour


def wide_pages(page: Page, paths: dict[str, str]) -> list[str]:
    too_wide = []
    for name, path in paths.items():
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        if not fits_window(page):
            width = page.evaluate("document.documentElement.scrollWidth")
            too_wide.append(f"{name} ({path}): {width} px wide in {page.viewport_size}")
    return too_wide


def background_luminance(page: Page) -> float:
    """0 (black) to 1 (white): the page's background as drawn."""
    return page.evaluate(
        """() => {
          const [r, g, b] = getComputedStyle(document.body).backgroundColor
            .match(/\\d+/g).map(Number);
          return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
        }"""
    )


@pytest.mark.parametrize("context_options", SCREENS)
def test_no_page_scrolls_sideways(live_site: LiveSite, page: Page, tour: Tour):
    paths = {**tour.pages, **more_pages(tour)}
    too_wide = wide_pages(page, paths)
    if page.viewport_size and page.viewport_size["width"] < 500:
        for width in (360, 430):  # the narrowest and widest phones in common use
            page.set_viewport_size({"width": width, "height": 800})
            too_wide += wide_pages(page, paths)
    page.context.clear_cookies()
    too_wide += wide_pages(page, SIGNED_OUT_PAGES)
    assert not too_wide, "\n".join(too_wide)


@pytest.mark.parametrize("context_options", [PHONE])
def test_on_a_phone_the_sidebar_is_a_drawer_that_a_button_opens(page: Page, tour: Tour):
    page.goto(tour.pages["chat"])
    sidebar = page.get_by_role("complementary", name="Conversations")
    toggle = page.get_by_role("button", name="Chats")
    expect(sidebar).not_to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()
    expect(sidebar).to_be_in_viewport()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar.get_by_role("link", name="New chat")).to_be_focused()
    page.keyboard.press("Escape")
    expect(sidebar).not_to_be_visible()
    expect(toggle).to_be_focused()

    toggle.click()
    sidebar.get_by_role("link", name="It went wrong").click()
    expect(page).to_have_url(re.compile(re.escape(tour.failed_chat.get_absolute_url()) + "$"))
    expect(page.get_by_role("complementary", name="Conversations")).not_to_be_visible()
    assert fits_window(page)


@pytest.mark.parametrize("context_options", [PHONE])
def test_on_a_phone_the_top_navigation_folds_into_a_menu(page: Page, tour: Tour):
    page.goto(tour.pages["chat"])
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    expect(nav).not_to_be_visible()
    topbar = page.locator(".topbar").bounding_box()
    assert topbar and topbar["height"] <= 60  # one line: brand and menu button

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for name in ("History", "Models", "Users", "Site settings", "Import/Export"):
        expect(nav.get_by_role("link", name=name)).to_be_in_viewport()
    assert fits_window(page)
    nav.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).not_to_be_visible()


@pytest.mark.parametrize("context_options", [PHONE])
def test_on_a_phone_the_composer_stays_at_the_bottom_with_the_keyboard_open(
    live_site: LiveSite, page: Page, tour: Tour
):
    page.goto(tour.pages["chat"])
    composer = page.locator("#composer")
    expect(composer).to_be_in_viewport(ratio=1)
    box = composer.bounding_box()
    assert box and abs(box["y"] + box["height"] - 844) <= 1  # flush with the bottom edge

    # The on-screen keyboard takes about half the screen: the chat shrinks above it.
    page.set_viewport_size({"width": 390, "height": 430})
    expect(composer).to_be_in_viewport(ratio=1)
    box = composer.bounding_box()
    assert box and abs(box["y"] + box["height"] - 430) <= 1
    live_site.ollama.script_chat("Short answer.")
    page.get_by_label("Message").fill("Still usable?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message.assistant").last).to_contain_text("Short answer.")
    expect(page.locator(".message.assistant").last).to_be_in_viewport()
    assert fits_window(page)


@pytest.mark.parametrize("context_options", [PHONE])
def test_on_a_phone_tables_become_stacked_rows_that_name_each_value(page: Page, tour: Tour):
    for path, row, value, column in (
        (tour.pages["history"], "#history-rows tr:first-child", "td.model", "Model"),
        (tour.pages["users"], "table.users tbody tr:first-child", "td:nth-child(2)", "Role"),
        (tour.pages["models"], "table.models tbody tr:first-child", "td:nth-child(2)", "Family"),
    ):
        page.goto(path)
        cell = page.locator(f"{row} {value}")
        expect(cell).to_be_visible()
        assert cell.evaluate("td => getComputedStyle(td).display") == "block"
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == f'"{column}"', (path, label)
        header = page.locator("table.list thead").first
        assert header.evaluate("h => h.getBoundingClientRect().height") <= 1  # read, not shown
        assert fits_window(page)


@pytest.mark.parametrize("context_options", [DESKTOP])
def test_on_a_laptop_the_sidebar_and_navigation_stay_in_view(page: Page, tour: Tour):
    page.goto(tour.pages["chat"])
    expect(page.get_by_role("complementary", name="Conversations")).to_be_in_viewport()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="History")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).not_to_be_visible()
    expect(page.get_by_role("button", name="Chats")).not_to_be_visible()


def keyword_colour(page: Page) -> str:
    """A code keyword's colour, read from one in the page: the socket's catch-up on connect may
    replace the message holding it, and a replaced element has no computed style."""
    colour = page.wait_for_function(
        """() => {
            const keyword = document.querySelector(".codeblock pre .k");
            return keyword && keyword.isConnected && getComputedStyle(keyword).color;
        }"""
    )
    return str(colour.json_value())


@pytest.mark.parametrize("context_options", [DARK_DESKTOP])
def test_the_scheme_follows_the_device_until_the_user_picks_one_on_the_settings_page(
    live_site: LiveSite, page: Page, tour: Tour
):
    page.goto(tour.pages["chat"])
    assert background_luminance(page) < 0.2  # the device is dark: so is the page
    dark_keyword = keyword_colour(page)  # highlighted for dark

    page.goto(tour.pages["settings"])
    expect(page.get_by_label("Same as my device")).to_be_checked()
    page.get_by_label("Light").check()
    page.get_by_role("button", name="Save colour scheme").click()
    expect(page.get_by_text("Colour scheme saved.")).to_be_visible()
    expect(page.get_by_label("Light")).to_be_checked()
    assert background_luminance(page) > 0.9
    assert User.objects.get(pk=tour.admin.pk).theme == "light"

    # Drawn from the first byte: the served page names the scheme (no flash of the other one).
    served = page.request.get(tour.pages["chat"]).text()
    assert '<html lang="en" data-theme="light">' in served
    page.goto(tour.pages["chat"])
    assert background_luminance(page) > 0.9
    assert keyword_colour(page) != dark_keyword


@pytest.mark.parametrize("context_options", [{**DESKTOP, "color_scheme": "light"}])
def test_a_user_who_picks_dark_gets_it_on_a_light_device(page: Page, tour: Tour):
    User.objects.filter(pk=tour.admin.pk).update(theme="dark")
    for path in (tour.pages["chat"], tour.pages["history"], tour.pages["models"]):
        page.goto(path)
        assert background_luminance(page) < 0.2, path


@pytest.mark.parametrize("context_options", [DARK_PHONE, DARK_DESKTOP], ids=["phone", "desktop"])
def test_phone_and_dark_screenshots_for_the_readme(
    page: Page, tour: Tour, screenshot_dir: Path, context_options
):
    phone = context_options is DARK_PHONE
    page.goto(tour.pages["chat"])
    expect(page.locator(".codeblock").first).to_be_visible()
    if phone:
        page.screenshot(path=str(screenshot_dir / "chat-phone-dark.png"))
        page.get_by_role("button", name="Chats").click()
        page.wait_for_function(
            "() => document.getElementById('sidebar').getBoundingClientRect().left === 0"
        )
        page.screenshot(path=str(screenshot_dir / "drawer-phone-dark.png"))
    else:
        page.screenshot(path=str(screenshot_dir / "chat-dark.png"))
    assert fits_window(page)


@pytest.mark.parametrize("context_options", [PHONE])
def test_the_chat_page_of_fifty_messages_weighs_under_100_kb_cold(
    live_site: LiveSite, page: Page, tour: Tour
):
    for index in range(24):  # with the tour's two: fifty messages, half of them with code
        make_message(tour.chat, content=f"Question {index}: how do I count words?")
        make_message(tour.chat, role="assistant", content=CODE_REPLY, model="llama3.2:latest")
    page.goto(tour.pages["chat"])
    expect(page.locator(".message")).to_have_count(50)
    page.wait_for_load_state("load")
    transferred = page.evaluate(
        """() => performance.getEntriesByType("navigation")
              .concat(performance.getEntriesByType("resource"))
              .reduce((total, entry) => total + entry.transferSize, 0)"""
    )
    assert 0 < transferred < 100_000, f"{transferred} bytes"
