"""axe-core in a real browser on the pages a person uses, light and dark, desktop and phone: no
serious or critical violation (contrast included). And the reply is announced once, politely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENS, LiveSite
from tests.browser.tour import seed_tour
from tests.factories import make_user

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as shown. It is evaluated through the browser's debugging
    protocol, which the Content-Security-Policy does not govern, so the page's policy stays on."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']} {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['failureSummary']}".replace("\n", " "))
    return "\n".join(lines)


@pytest.mark.parametrize("context_options", SCREENS)
def test_every_page_has_no_serious_or_critical_axe_violation(
    live_site: LiveSite, page: Page, sign_in
):
    tour = seed_tour(live_site)
    sign_in(tour.admin)
    found = {}
    for name, path in tour.pages.items():
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        if violations := axe_violations(page):
            found[name] = describe(violations)
    # The shortcuts sheet and the open menu or drawer are part of the page too.
    page.goto(tour.pages["chat"])
    page.evaluate("document.activeElement.blur()")  # the message box has the focus on arrival
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    if violations := axe_violations(page):
        found["shortcuts sheet"] = describe(violations)
    page.keyboard.press("Escape")
    for toggle in page.locator(".nav-toggle, .drawer-toggle").all():
        if toggle.is_visible():
            toggle.click()
            expect(toggle).to_have_attribute("aria-expanded", "true")
            if violations := axe_violations(page):
                found[f"open {toggle.text_content()}"] = describe(violations)
            page.keyboard.press("Escape")
            expect(toggle).to_have_attribute("aria-expanded", "false")
    assert not found, "\n\n".join(f"{name}:\n{text}" for name, text in found.items())


def test_axe_finds_a_real_violation_so_the_check_can_fail(live_site: LiveSite, page: Page, sign_in):
    sign_in(make_user("alice"))
    page.goto("/accounts/settings/")
    page.evaluate(
        """() => {
          const low = document.createElement("p");
          low.textContent = "barely readable";
          low.style.color = "#b8b8b8";  // about 2:1 on the light page
          document.querySelector("main").appendChild(low);
        }"""
    )
    assert "color-contrast" in [v["id"] for v in axe_violations(page)]


def test_a_reply_is_announced_once_when_written_not_token_by_token(
    live_site: LiveSite, page: Page, sign_in
):
    live_site.ollama.add_model("llama3.2:latest")
    sign_in(make_user("alice"))
    page.goto("/")
    page.evaluate(
        """() => {
          window.__announced = [];
          new MutationObserver(() => {
            window.__announced.push(document.getElementById("reply-status")?.textContent);
          }).observe(document.body, {subtree: true, childList: true, characterData: true});
        }"""
    )
    live_site.ollama.script_chat([f"word{i} " for i in range(30)], token_delay=0.02)
    page.get_by_label("Message").fill("Count to thirty")
    page.get_by_label("Message").press("Enter")
    status = page.locator("#reply-status")
    expect(status).to_have_text("Reply: " + " ".join(f"word{i}" for i in range(30)))
    expect(status).to_have_attribute("role", "status")
    # The thread itself is not a live region: tokens are not read out one by one.
    assert page.locator("#messages").get_attribute("aria-live") in (None, "off")
    assert page.locator("#messages [aria-live]:not([aria-live=off])").count() == 0
    heard = [text for text in page.evaluate("window.__announced") if text]
    assert set(heard) <= {"Writing a reply…", status.text_content()}
