"""API keys in a real browser: create a key, use it from code, see the usage, revoke it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from chatsite.accounts.models import User
from tests.browser.conftest import LiveSite
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_a_member_creates_a_key_uses_it_sees_the_usage_and_revokes_it(
    live_site: LiveSite, page: Page, sign_in: Callable[[User], None]
):
    sign_in(make_user("alice"))
    live_site.ollama.add_model("llama3.2:latest")
    live_site.ollama.script_chat("Hello from code.")

    page.goto("/")
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("my editor")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-secret").inner_text()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": False}
    with httpx.Client(base_url=live_site.url, trust_env=False, timeout=10) as http:
        used = http.post(
            "/ollama/api/chat", json=body, headers={"Authorization": f"Bearer {secret}"}
        )

        # The secret was on that one answer only (it is stored nowhere to show again).
        page.get_by_role("link", name="API keys").click()
        expect(page.locator("#new-key-secret")).to_have_count(0)
        expect(page.get_by_role("cell", name="my editor")).to_be_visible()
        page.get_by_role("link", name="Your usage").click()
        expect(page.locator("#usage-chart rect.bar-api")).to_have_count(1)
        expect(page.get_by_role("cell", name="llama3.2", exact=True)).to_be_visible()

        page.get_by_role("link", name="Your API keys").click()
        page.get_by_role("button", name="Revoke").click()
        expect(page.get_by_text("it stops working at once")).to_be_visible()
        refused = http.post(
            "/ollama/api/chat", json=body, headers={"Authorization": f"Bearer {secret}"}
        )

    assert used.json()["message"]["content"] == "Hello from code."
    assert refused.status_code == 401
