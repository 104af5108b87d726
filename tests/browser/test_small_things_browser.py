"""The small things in a real browser: a favicon and no 404s, a failed reply that shows its error
and Retry, a model's details beside its row, an activity indicator for a pull with no byte
totals, copying a whole message, "Jump to latest" instead of a yank to the bottom, and a model
picker that offers only models that can chat."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import DESKTOP, PHONE, LiveSite
from tests.browser.tour import Tour, more_pages, seed_tour
from tests.factories import make_conversation, make_message, make_user
from tests.ollama_standin import Failure

pytestmark = pytest.mark.browser


@pytest.fixture
def tour(live_site: LiveSite, page: Page, sign_in) -> Tour:
    tour = seed_tour(live_site)
    sign_in(tour.admin)
    return tour


def test_every_page_has_a_favicon_and_nothing_it_loads_is_missing(page: Page, tour: Tour):
    missing: list[str] = []

    def note(response: Response) -> None:
        if response.status >= 400:
            missing.append(f"{response.status} {response.url}")

    page.on("response", note)
    for path in {**tour.pages, **more_pages(tour)}.values():
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert icon and icon.endswith(".svg")
    assert not missing, missing
    icon = page.request.get("/favicon.ico")  # asked by browsers where no page names an icon
    assert icon.ok and icon.headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("context_options", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_failed_reply_shows_its_error_and_retry_not_an_empty_box(
    live_site: LiveSite, page: Page, tour: Tour
):
    live_site.ollama.script_chat(
        failure=Failure.status(500, "model runner has unexpectedly stopped"), once=True
    )
    live_site.ollama.script_chat("Second time lucky.")
    page.goto(tour.pages["new chat"])
    page.get_by_label("Message", exact=True).fill("Tell me a story")
    page.get_by_label("Message", exact=True).press("Enter")

    reply = page.locator(".message.assistant").last
    expect(reply.locator(".badge")).to_have_text("Failed")
    expect(reply.get_by_role("alert")).to_contain_text("model runner has unexpectedly stopped")
    expect(reply.locator(".message-body")).to_be_hidden()  # no empty bordered box
    retry = reply.get_by_role("button", name="Retry")
    expect(retry).to_be_in_viewport()
    page.reload()  # the same when the page is drawn by the server
    reply = page.locator(".message.assistant").last
    expect(reply.locator(".message-body")).to_be_hidden()
    expect(reply.get_by_role("alert")).to_contain_text("model runner has unexpectedly stopped")

    reply.get_by_role("button", name="Retry").click()
    expect(page.locator(".message.assistant").last).to_contain_text("Second time lucky.")
    expect(page.locator(".message.assistant").last.locator(".message-body")).to_be_visible()


@pytest.mark.parametrize("context_options", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_model_details_open_next_to_the_row_clicked(live_site: LiveSite, page: Page, tour: Tour):
    for index in range(20):  # a long page: the last rows are far below the top
        live_site.ollama.add_model(f"model{index:02}:latest", family=f"family{index}")
    page.goto(tour.pages["models"])
    row = page.locator("table.models tbody tr", has_text="model19:latest")
    row.get_by_role("link", name="Details").click()

    details = page.locator("#model-details")
    expect(details.get_by_role("heading", name="model19:latest")).to_be_visible()
    expect(details).to_be_in_viewport()
    expect(details.get_by_role("heading", name="model19:latest")).to_be_focused()
    above = details.evaluate("d => d.closest('tr').previousElementSibling.textContent")
    assert "model19:latest" in above

    # Another row's details move there, and only one panel is open.
    page.locator("table.models tbody tr", has_text="model03:latest").get_by_role(
        "link", name="Details"
    ).click()
    expect(details.get_by_role("heading", name="model03:latest")).to_be_in_viewport()
    expect(page.locator("#model-details")).to_have_count(1)
    above = details.evaluate("d => d.closest('tr').previousElementSibling.textContent")
    assert "model03:latest" in above


def test_a_pull_without_byte_totals_shows_activity_not_zero_bytes(
    live_site: LiveSite, page: Page, tour: Tour
):
    live_site.ollama.script_pull(hang_after_steps=0)  # "pulling manifest", then nothing yet
    page.goto(tour.pages["models"])
    page.get_by_label("Model name").fill("tinyllama")
    page.get_by_role("button", name="Pull", exact=True).click()
    card = page.get_by_role("article", name="Pull of tinyllama:latest")
    expect(card).to_contain_text("pulling manifest")
    activity = card.get_by_role("progressbar", name="tinyllama:latest: working")
    expect(activity).to_be_visible()
    assert activity.get_attribute("value") is None  # indeterminate: the browser animates it
    expect(card).not_to_contain_text("bytes of")
    expect(card).not_to_contain_text("0%")
    card.get_by_role("button", name="Cancel").click()
    expect(card).to_contain_text("Cancelled")


def test_copy_takes_a_whole_message(live_site: LiveSite, page: Page, tour: Tour):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(tour.pages["chat"])
    reply = page.locator(".message.assistant").last
    reply.locator(".message-meta").get_by_role("button", name="Copy").click()
    expect(reply.locator(".message-meta").get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Read it line by line:")
    assert "def count_words(path: Path) -> int:" in copied
    assert "Passing encoding avoids surprises." in copied
    assert "python\nCopy" not in copied and not copied.count("Copy")  # not the code bar

    question = page.locator(".message.user").last
    question.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == (
        "How do I count the words in a large file?"
    )


def test_scrolling_up_during_a_reply_is_respected_and_jump_to_latest_goes_back(
    live_site: LiveSite, page: Page, sign_in
):
    live_site.ollama.add_model("llama3.2:latest")
    alice = make_user("alice")
    chat = make_conversation(alice)
    for index in range(6):
        make_message(chat, content=f"Question {index}")
        make_message(chat, role="assistant", content="A long answer.\n\n" * 12)
    sign_in(alice)
    page.set_viewport_size({"width": 1000, "height": 700})
    page.goto(chat.get_absolute_url())
    live_site.ollama.script_chat([f"t{i} " for i in range(300)], token_delay=0.04)
    page.get_by_label("Message", exact=True).fill("And another long one")
    page.get_by_label("Message", exact=True).press("Enter")
    reply = page.locator(".message.assistant").last
    expect(reply).to_contain_text("t5")

    page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    expect(reply).to_contain_text("t40")
    assert page.locator("#messages").evaluate("box => box.scrollTop") < 50  # not yanked down

    jump.click()
    expect(jump).to_be_hidden()
    at_bottom = "box => box.scrollHeight - box.scrollTop - box.clientHeight < 80"
    expect(reply).to_contain_text("t80")
    assert page.locator("#messages").evaluate(at_bottom)  # following the reply again
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    expect(reply).to_contain_text("tokens/s", timeout=30_000)
    assert page.locator("#messages").evaluate(at_bottom)


def test_the_model_picker_offers_only_chat_models_with_family_and_size(
    live_site: LiveSite, page: Page, tour: Tour
):
    live_site.ollama.add_model(
        "nomic-embed-text:latest", family="nomic-bert", capabilities=("embedding",)
    )
    page.goto(tour.pages["new chat"])
    picker = page.get_by_label("Model", exact=True)
    expect(picker.locator("option", has_text="qwen3:8b")).to_have_text(
        "qwen3:8b (qwen3 · 8.2B · 1.9 GB)"
    )
    assert "nomic-embed-text:latest" not in picker.locator("option").all_inner_texts()
