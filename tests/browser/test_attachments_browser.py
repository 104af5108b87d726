"""Images and documents in a real browser: paste, drop and Attach; what Ollama (the stand-in) was
sent; refusals in plain words with nothing stored; owner-only image URLs; reload; export and
import back."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from conversations.models import Attachment, Conversation, Message
from tests.browser.conftest import LiveSite
from tests.conversations.attachments import files
from tests.factories import make_user
from tests.ollama_standin import received_images

pytestmark = pytest.mark.browser

VISION = "gemma3:4b"
PLAIN = "llama3.2:latest"
IMAGE_MAX = 1568  # CHAT_IMAGE_MAX_PIXELS's default


@pytest.fixture
def alice(live_site: LiveSite, page: Page, sign_in):
    live_site.ollama.add_model(PLAIN)
    live_site.ollama.add_vision_model(VISION)
    user = make_user("alice")
    sign_in(user)
    page.goto("/")
    return user


def paste_file(page: Page, data: bytes, name: str, mime: str) -> None:
    """A paste of a file (a screenshot) into the message box, as the clipboard delivers it."""
    page.evaluate(
        """([encoded, name, mime]) => {
          const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], name, { type: mime }));
          const event = new ClipboardEvent("paste", {
            clipboardData: data, bubbles: true, cancelable: true });
          document.getElementById("composer-input").dispatchEvent(event);
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )


def drop_file(page: Page, data: bytes, name: str, mime: str) -> None:
    """A file dragged from the desktop and dropped on the chat."""
    page.evaluate(
        """([encoded, name, mime]) => {
          const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], name, { type: mime }));
          const target = document.getElementById("composer-input");
          for (const type of ["dragenter", "dragover", "drop"]) {
            target.dispatchEvent(new DragEvent(type, {
              dataTransfer: data, bubbles: true, cancelable: true }));
          }
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )


def attach(page: Page, data: bytes, name: str, mime: str) -> None:
    page.locator("#attachment-input").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


def chips(page: Page, text: str = ""):
    """The composer's uploaded files (each carrying its id), not the ones still uploading."""
    found = page.locator("#attachment-tray .attachment-chip:has(input[name=attachment])")
    return found.filter(has_text=text) if text else found


def send(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")


def image_loaded(page: Page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "(img) => img.complete && img.naturalWidth > 0"))


def test_a_pasted_screenshot_reaches_the_vision_model_downscaled_and_shows_after_a_reload(
    live_site: LiveSite, page: Page, alice
):
    page.select_option("#model-picker", VISION)
    paste_file(page, files.png(4000, 2000, "purple"), "screenshot.png", "image/png")
    chip = chips(page)
    expect(chip).to_contain_text("1568 × 784")
    send(page, "What is on my screen?")

    reply = page.locator(".message.assistant").last
    expect(reply).to_contain_text("I was shown 1 image: 1568x784 PNG.")
    [seen] = received_images(live_site.ollama.requests_to("/api/chat")[0])
    assert max(seen.width, seen.height) <= IMAGE_MAX
    assert (seen.width, seen.height) == (1568, 784)
    expect(chips(page)).to_have_count(0)

    page.reload()
    thumbnail = page.locator(".message.user .attachment-image img")
    expect(thumbnail).to_have_attribute("alt", "screenshot.png")
    page.wait_for_function(
        "() => { const i = document.querySelector('.message.user .attachment-image img');"
        " return i && i.complete && i.naturalWidth === 1568; }"
    )


def test_a_dropped_text_file_and_an_attached_pdf_reach_the_model_as_text(
    live_site: LiveSite, page: Page, alice
):
    page.select_option("#model-picker", PLAIN)
    drop_file(page, b"alpha,beta\n1,2\n", "numbers.csv", "text/csv")
    attach(
        page,
        files.pdf("Quarterly revenue grew", "by nine percent"),
        "report.pdf",
        "application/pdf",
    )
    # Sent at once, while the files may still be uploading: the message waits for them.
    send(page, "Compare these")

    expect(page.locator(".message.assistant").last).to_contain_text("Hello from the stand-in.")
    content = live_site.ollama.requests_to("/api/chat")[0].body["messages"][-1]["content"]
    assert content == (
        "Compare these\n\n"
        "----- Attached file: numbers.csv -----\nalpha,beta\n1,2\n\n"
        "----- End of numbers.csv -----\n\n"
        "----- Attached file: report.pdf -----\nQuarterly revenue grew\n\nby nine percent\n"
        "----- End of report.pdf -----"
    )
    # The text on demand, under the document's chip in the conversation.
    document = page.locator(".message.user .attachment-document").filter(has_text="report.pdf")
    document.locator("summary").click()
    expect(document.locator(".attachment-text")).to_have_text(
        "Quarterly revenue grew\n\nby nine percent"
    )


def test_a_model_that_cannot_see_refuses_images_naming_the_vision_models(
    live_site: LiveSite, page: Page, alice
):
    page.select_option("#model-picker", PLAIN)
    attach(page, files.png(), "photo.png", "image/png")
    expect(chips(page)).to_have_count(1)
    # Said before sending, and again by the server when sent anyway.
    expect(page.locator("#attachment-warning")).to_have_text(
        f"The chosen model cannot see images. Pick a model that can see images: {VISION}."
    )
    send(page, "Describe it")

    expect(page.locator("#composer-errors")).to_have_text(
        f"The chosen model cannot see images. Pick a model that can see images: {VISION}."
    )
    expect(chips(page)).to_have_count(1)  # kept
    expect(page.get_by_label("Message")).to_have_value("Describe it")
    assert Conversation.objects.count() == 0
    assert Message.objects.count() == 0
    assert live_site.ollama.requests_to("/api/chat") == []

    # In a conversation (sent over its socket) the same refusal, and nothing stored.
    page.select_option("#model-picker", VISION)
    send(page, "Describe it")
    expect(page.locator(".message.assistant").last).to_contain_text("I was shown 1 image")
    attach(page, files.png(20, 20), "second.png", "image/png")
    expect(chips(page)).to_have_count(1)
    page.select_option("#model-picker", PLAIN)
    send(page, "And this?")
    expect(page.locator("#composer-errors")).to_contain_text("The chosen model cannot see images.")
    assert Message.objects.count() == 2


def test_another_user_gets_404_for_the_image_url(live_site: LiveSite, page: Page, alice, sign_in):
    page.select_option("#model-picker", VISION)
    attach(page, files.png(), "private.png", "image/png")
    expect(chips(page)).to_have_count(1)
    send(page, "Mine")
    expect(page.locator(".message.assistant").last).to_contain_text("I was shown 1 image")
    url = Attachment.objects.get().get_absolute_url()
    response = page.goto(url)  # opened in a tab of its own, as the thumbnail's link does
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"

    page.context.clear_cookies()
    sign_in(make_user("bob"))
    response = page.goto(url)

    assert response is not None and response.status == 404


def test_export_and_import_keep_images_and_documents(
    live_site: LiveSite, page: Page, alice, tmp_path: Path
):
    page.select_option("#model-picker", VISION)
    attach(page, files.png(300, 200, "green"), "garden.png", "image/png")
    attach(page, b"Water the roses.", "todo.txt", "text/plain")
    expect(chips(page)).to_have_count(2)
    send(page, "Plan my garden")
    expect(page.locator(".message.assistant").last).to_contain_text("I was shown 1 image")

    with page.expect_download() as download:
        page.get_by_role("link", name="JSON").click()
    exported = tmp_path / "export.json"
    download.value.save_as(exported)
    page.goto("/import/")
    page.locator("input[type=file]").set_input_files(exported)
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".flash")).to_contain_text("Imported 1 conversation with 2 messages")

    original = Conversation.objects.order_by("created_at").first()
    imported = Conversation.objects.exclude(pk=original.pk).get()
    page.goto(imported.get_absolute_url())
    expect(page.locator(".message.user .attachment-image img")).to_have_attribute(
        "alt", "garden.png"
    )
    page.wait_for_function(
        "() => { const i = document.querySelector('.message.user .attachment-image img');"
        " return i && i.complete && i.naturalWidth === 300; }"
    )
    expect(page.locator(".message.user .attachment-document")).to_contain_text("todo.txt")
    copy = Attachment.objects.get(message__conversation=imported, kind="image")
    assert (
        copy.sha256 == Attachment.objects.get(message__conversation=original, kind="image").sha256
    )


def test_bad_files_get_a_sentence_each_and_nothing_is_stored(
    live_site: LiveSite, page: Page, alice, tmp_path: Path
):
    errors = page.locator("#composer-errors")
    cases = [
        ("bomb.png", files.png_bomb(), "image/png", "bomb.png is too large an image"),
        (
            "cute-cat.png",
            b"<!doctype html><script>alert(1)</script>",
            "image/png",
            "cute-cat.png is not a PNG, JPEG, WebP or GIF image.",
        ),
        ("scan.pdf", files.pdf(""), "application/pdf", "scan.pdf has no text to read"),
        (
            "locked.pdf",
            files.pdf("secret", password="pw"),
            "application/pdf",
            "locked.pdf is protected by a password.",
        ),
    ]
    for name, data, mime, sentence in cases:
        attach(page, data, name, mime)
        expect(errors).to_contain_text(sentence)

    huge = tmp_path / "huge.png"
    with huge.open("wb") as out:
        out.truncate(60 * 1024 * 1024)
    page.locator("#attachment-input").set_input_files(huge)
    expect(errors).to_have_text(
        re.compile(r"That file is 60\.0 MB; the largest file you can attach is 20\.0 MB\.")
    )
    # Past the page's own check, the server refuses it before reading it, in plain words too.
    page.evaluate("delete document.getElementById('composer').dataset.uploadMax")
    page.locator("#attachment-input").set_input_files(huge)
    expect(errors).to_have_text(
        re.compile(r"That file is 60\.0 MB; the server accepts uploads of up to 20\.1 MB\.")
    )

    expect(chips(page)).to_have_count(0)
    assert Attachment.objects.count() == 0


def test_a_document_longer_than_the_context_is_flagged_before_sending(
    live_site: LiveSite, page: Page, alice
):
    page.locator(".settings-panel summary").click()
    page.locator("#id_num_ctx").fill("1024")
    attach(page, ("word " * 4000).encode(), "long.txt", "text/plain")

    warning = page.locator("#attachment-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("The attached text is about 5,0")
    expect(warning).to_contain_text("more than the 1,024 tokens of the Context length setting")
    page.locator("#id_num_ctx").fill("65536")
    expect(warning).to_be_hidden()

    page.locator(".attachment-remove").click()
    expect(chips(page)).to_have_count(0)
    # The chip goes once the server has answered, so the row is gone by then.
    assert Attachment.objects.count() == 0


def test_attaching_after_the_session_ended_says_to_sign_in_again(
    live_site: LiveSite, page: Page, alice
):
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)  # the CSRF cookie stays
    attach(page, b"notes", "notes.txt", "text/plain")

    expect(page.locator("#composer-errors")).to_have_text(
        "You are signed out. Sign in again, then attach the file."
    )
    expect(chips(page)).to_have_count(0)
    assert Attachment.objects.count() == 0
