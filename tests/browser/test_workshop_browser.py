"""The model workshop in a real browser: an admin creates a model and watches its status lines,
chats with it and copies it; a member starts a chat from a shared assistant's starter prompt;
a hidden model is neither offered nor accepted; a create that cannot work says why."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from chatsite.accounts.models import SiteSettings
from chatsite.library.models import AuditEntry, Pull
from conversations.assistants.models import Assistant
from conversations.models import Conversation
from tests.browser.conftest import LiveSite
from tests.factories import make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_on_models_page(live_site: LiveSite, page: Page, sign_in) -> Page:
    live_site.ollama.add_model("llama3.2:latest")
    sign_in(make_user("ada", admin=True, display_name="Ada Admin"))
    page.set_viewport_size({"width": 1200, "height": 1000})
    page.goto("/manage/models/")
    return page


def fill_create_form(page: Page, name: str, base: str = "llama3.2:latest") -> None:
    form = page.locator("#create-form")
    form.get_by_label("Name of the new model").fill(name)
    form.get_by_label("Base model").select_option(base)


def chat_requests(live_site: LiveSite) -> list:
    return [r for r in live_site.ollama.requests_to("/api/chat") if r.body.get("messages")]


def test_an_admin_creates_reviewer_chats_with_it_and_copies_it(
    live_site: LiveSite, admin_on_models_page: Page
):
    page = admin_on_models_page
    live_site.ollama.script_create(step_delay=0.3)  # slow enough to watch the lines arrive
    fill_create_form(page, "reviewer")
    page.locator("#create-form").get_by_label("System prompt").fill("You review code bluntly.")
    page.get_by_text("Parameters, template, license, quantize").click()
    page.locator("#create-form").get_by_label("Temperature").fill("0.2")
    page.get_by_role("button", name="Create model").click()

    card = page.get_by_role("article", name="Creation of reviewer:latest")
    expect(card).to_contain_text("Creating")
    expect(card.get_by_label("Status lines")).to_contain_text("using existing layer sha256:")
    expect(card.get_by_label("Status lines")).to_contain_text("writing manifest")
    expect(card).to_contain_text("Succeeded")
    expect(card.get_by_label("Status lines")).to_contain_text("success")
    installed = page.locator(".installed-models")
    expect(installed.get_by_role("cell", name="reviewer:latest")).to_be_visible()
    audit = page.locator("#audit-log").get_by_role("row").filter(has_text="reviewer")
    expect(audit.filter(has_text="Succeeded")).to_have_count(1)
    expect(audit.filter(has_text="Started")).to_have_count(1)
    [sent] = live_site.ollama.requests_to("/api/create")
    assert sent.body["system"] == "You review code bluntly."
    assert sent.body["parameters"] == {"temperature": 0.2}

    # Chat with it: Ollama gets the created model's name and applies its own system prompt.
    page.goto("/")
    page.get_by_label("Model", exact=True).select_option("reviewer:latest")
    page.get_by_label("Message").fill("Look at my diff")
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("Hello from the stand-in.")
    [request] = chat_requests(live_site)
    assert request.body["model"] == "reviewer:latest"
    assert request.applied_system == "You review code bluntly."

    # Copy it.
    page.goto("/manage/models/")
    row = page.locator(".installed-models").get_by_role("row").filter(has_text="reviewer:latest")
    row.get_by_role("link", name="Copy…").click()
    page.get_by_label("New name").fill("reviewer-v2")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied reviewer:latest to reviewer-v2:latest.")).to_be_visible()
    expect(
        page.locator(".installed-models").get_by_role("cell", name="reviewer-v2:latest")
    ).to_be_visible()
    assert live_site.ollama.requests_to("/api/copy")[0].body == {
        "source": "reviewer:latest",
        "destination": "reviewer-v2:latest",
    }


def test_creates_that_cannot_work_say_why_and_leave_nothing_half_done(
    live_site: LiveSite, admin_on_models_page: Page
):
    page = admin_on_models_page
    errors = page.locator("#create-form")

    fill_create_form(page, "bad name!")
    page.get_by_role("button", name="Create model").click()
    expect(errors).to_contain_text("“bad name!” is not a valid Ollama model name")

    fill_create_form(page, "llama3.2")
    page.get_by_role("button", name="Create model").click()
    expect(errors).to_contain_text("A model called llama3.2:latest is already installed")

    live_site.ollama.add_model("old:7b")
    page.reload()
    live_site.ollama.remove_model("old:7b")  # gone after the page listed it
    fill_create_form(page, "fresh", base="old:7b")
    page.get_by_role("button", name="Create model").click()
    expect(errors).to_contain_text("The base model old:7b is not installed")
    # What was typed is kept.
    expect(errors.get_by_label("Name of the new model")).to_have_value("fresh")
    assert not live_site.ollama.requests_to("/api/create")
    assert not Pull.objects.exists() and not AuditEntry.objects.exists()

    # Ollama goes away in the middle of the create.
    live_site.ollama.script_create(drop_after_steps=1, step_delay=0.1)
    fill_create_form(page, "fragile")
    page.get_by_role("button", name="Create model").click()
    card = page.get_by_role("article", name="Creation of fragile:latest")
    expect(card).to_contain_text("Failed")
    expect(card).to_contain_text(
        "Ollama could not create fragile:latest: the connection was lost before the reply was "
        "complete."
    )
    expect(page.locator(".installed-models")).not_to_contain_text("fragile")


def test_a_member_starts_a_chat_from_a_shared_assistants_starter_prompt(
    live_site: LiveSite, page: Page, sign_in
):
    live_site.ollama.add_model("llama3.2:latest")
    Assistant.objects.create(
        name="SQL helper",
        description="Writes and explains SQL.",
        model="llama3.2:latest",
        system_prompt="You write PostgreSQL.",
        options={"temperature": 0.1, "num_ctx": 8192},
        starters=["Explain this query", "Write a migration"],
    )
    sign_in(make_user("alice"))
    page.goto("/")
    page.get_by_role("navigation", name="Assistants").get_by_role("link", name="SQL helper").click()
    expect(page.get_by_role("heading", name="New chat with SQL helper")).to_be_visible()
    page.get_by_role("button", name="Write a migration").click()

    expect(page).to_have_url(re.compile(r"/c/[0-9a-f-]{36}/$"))
    expect(page.locator(".message.user").last).to_contain_text("Write a migration")
    expect(page.locator(".message.assistant").last).to_contain_text("Hello from the stand-in.")
    expect(page.locator(".assistant-badge")).to_have_text("SQL helper")
    [request] = chat_requests(live_site)
    assert request.body["messages"][0] == {"role": "system", "content": "You write PostgreSQL."}
    assert request.body["options"] == {"temperature": 0.1, "num_ctx": 8192}
    assert Conversation.objects.get().assistant_name == "SQL helper"


def test_a_hidden_model_is_not_offered_to_a_member_and_a_forged_send_is_refused(
    live_site: LiveSite, page: Page, sign_in
):
    live_site.ollama.add_model("llama3.2:latest")
    live_site.ollama.add_model("qwen3:8b")
    SiteSettings.objects.update_or_create(
        pk=1, defaults={"restrict_member_models": True, "member_models": ["llama3.2:latest"]}
    )
    sign_in(make_user("alice"))
    page.goto("/")
    picker = page.get_by_label("Model", exact=True)
    expect(picker.locator("option")).to_have_count(1)
    expect(picker.locator('option[value="qwen3:8b"]')).to_have_count(0)

    # A hand-edited page sends the hidden model anyway.
    picker.evaluate("select => { select.options[0].value = 'qwen3:8b'; }")
    page.get_by_label("Message").fill("Let me in")
    page.get_by_label("Message").press("Enter")
    expect(page.locator("#composer-errors")).to_have_text(
        "The model 'qwen3:8b' is not available to you on this site. Pick another model."
    )
    expect(page.get_by_label("Message")).to_have_value("Let me in")
    assert not Conversation.objects.exists()
    assert not chat_requests(live_site)
