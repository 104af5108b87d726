"""The models page in a real browser: a pull's progress bar fills to 100%, then the model is
deleted after a confirmation naming it and its size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_on_models_page(live_site: LiveSite, page: Page, sign_in) -> Page:
    live_site.ollama.add_model("llama3.2:latest")
    live_site.ollama.add_model(
        "qwen3:8b", family="qwen3", parameter_size="8.2B", size=5_225_376_047
    )
    live_site.ollama.load_model("llama3.2:latest", keep_alive_seconds=280)
    sign_in(make_user("ada", admin=True, display_name="Ada Admin"))
    page.set_viewport_size({"width": 1200, "height": 1000})
    page.goto("/manage/models/")
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    return page


def test_an_admin_pulls_a_model_watches_it_reach_100_percent_then_deletes_it(
    live_site: LiveSite, admin_on_models_page: Page, screenshot_dir: Path
):
    page = admin_on_models_page
    # About six seconds: long enough to watch (and photograph) the bars move.
    live_site.ollama.script_pull(
        layers=(637_000_000, 98_000, 1_400, 487), steps_per_layer=40, step_delay=0.04
    )
    page.get_by_label("Model name").fill("TinyLlama")
    page.get_by_role("button", name="Pull", exact=True).click()

    card = page.get_by_role("article", name="Pull of tinyllama:latest")
    overall = card.get_by_label("tinyllama:latest overall")
    expect(card).to_contain_text("Pulling")
    expect(card).to_contain_text(re.compile(r"pulling [0-9a-f]{12}"))
    expect(card).to_contain_text(re.compile(r"/s · .* left"))  # speed and time left
    # Each frame replaces the card, so look the bar up afresh on every poll.
    page.wait_for_function(
        "() => (document.querySelector('article.pull.state-running progress')?.value ?? 0) >= 25",
        polling=50,
    )
    page.screenshot(path=str(screenshot_dir / "models.png"), full_page=True)

    expect(overall).to_have_attribute("value", "100", timeout=15_000)
    expect(card).to_contain_text("Succeeded")
    expect(card.locator(".pull-percent")).to_have_text("100%")
    installed = page.locator(".installed-models")
    expect(installed.get_by_role("cell", name="tinyllama:latest")).to_be_visible()
    audit = page.locator("#audit-log")
    expect(audit.get_by_role("row").filter(has_text="Succeeded")).to_contain_text("tinyllama")

    row = installed.get_by_role("row").filter(has_text="tinyllama:latest")
    row.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete tinyllama:latest?")).to_be_visible()
    expect(page.get_by_text("607.6 MB on disk")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Delete tinyllama:latest")).click()

    expect(page).to_have_url(live_site.at("/manage/models/"))
    expect(page.get_by_text("Deleted tinyllama:latest (607.6 MB freed).")).to_be_visible()
    expect(page.locator(".installed-models")).not_to_contain_text("tinyllama")
    assert live_site.ollama.requests_to("/api/delete")[0].body == {"model": "tinyllama:latest"}


def test_details_open_in_place_and_unload_updates_the_page(
    live_site: LiveSite, admin_on_models_page: Page
):
    page = admin_on_models_page
    row = page.locator(".installed-models").get_by_role("row").filter(has_text="qwen3:8b")
    row.get_by_role("link", name="Details").click()
    details = page.locator("#model-details")
    expect(details.get_by_role("heading", name="qwen3:8b")).to_be_visible()
    expect(details).to_contain_text("Context length")
    expect(page).to_have_url(live_site.at("/manage/models/"))

    loaded = page.locator(".loaded-models")
    expect(loaded).to_contain_text("llama3.2:latest")
    loaded.get_by_role("button", name="Unload").click()
    expect(page.locator("#library-notice")).to_have_text("Unloaded llama3.2:latest from memory.")
    expect(loaded).to_contain_text("No model is loaded")
