"""Assistant pages: admins keep the shared ones, everyone their own; nobody sees or edits
another person's, and the model must be one its maker may use."""

from __future__ import annotations

from django.urls import reverse

from chatsite.accounts.models import SiteSettings
from conversations.assistants.models import Assistant
from tests.conversations.assistants.conftest import make_assistant
from tests.factories import make_conversation

FORM = {
    "name": "Reviewer",
    "description": "Reviews diffs.",
    "model": "llama3.2:latest",
    "system_prompt": "You review code.",
    "temperature": "0.3",
    "think": "",
    "starter_1": "Review this diff",
    "starter_3": "  Find the bug  ",
}


def test_an_admin_makes_a_shared_assistant(admin_client, ollama):
    response = admin_client.post(reverse("assistants:shared_new"), FORM, follow=True)
    assert "Saved the assistant Reviewer." in response.content.decode()
    saved = Assistant.objects.get()
    assert saved.shared and saved.model == "llama3.2:latest"
    assert (saved.options, saved.think) == ({"temperature": 0.3}, False)
    assert saved.starters == ["Review this diff", "Find the bug"]


def test_a_member_makes_a_personal_assistant_and_cannot_manage_shared_ones(
    alice, alice_client, ollama
):
    alice_client.post(reverse("assistants:mine_new"), FORM)
    assert Assistant.objects.get().owner == alice
    assert alice_client.get(reverse("assistants:shared")).status_code == 403
    assert alice_client.post(reverse("assistants:shared_new"), FORM).status_code == 403


def test_bob_gets_404_for_alices_assistant_and_a_shared_one_under_his_own(
    alice, bob_client, ollama
):
    mine = make_assistant(alice)
    shared = make_assistant(None, name="Shared")
    for assistant in (mine, shared):
        assert (
            bob_client.get(reverse("assistants:mine_edit", args=[assistant.pk])).status_code == 404
        )
        url = reverse("assistants:mine_delete", args=[assistant.pk])
        assert bob_client.post(url).status_code == 404
    assert Assistant.objects.count() == 2
    assert "SQL helper" not in bob_client.get(reverse("assistants:mine")).content.decode()


def test_a_member_cannot_make_an_assistant_on_a_hidden_model(alice_client, ollama):
    ollama.add_model("qwen3:8b")
    site = SiteSettings.load()
    site.restrict_member_models, site.member_models = True, ["llama3.2:latest"]
    site.save()
    page = alice_client.get(reverse("assistants:mine_new")).content.decode()
    assert 'value="qwen3:8b"' not in page
    response = alice_client.post(reverse("assistants:mine_new"), {**FORM, "model": "qwen3:8b"})
    assert response.status_code == 400
    assert "Pick one of the models listed; qwen3:8b is not one." in response.content.decode()
    assert not Assistant.objects.exists()


def test_editing_keeps_the_form_and_what_was_typed_on_an_error(alice, alice_client, ollama):
    assistant = make_assistant(alice)
    url = reverse("assistants:mine_edit", args=[assistant.pk])
    assert 'value="Explain this query"' in alice_client.get(url).content.decode()
    response = alice_client.post(url, {**FORM, "temperature": "9"})
    assert response.status_code == 400
    assert "less than or equal to 2" in response.content.decode()
    assert 'value="Reviewer"' in response.content.decode()
    assistant.refresh_from_db()
    assert assistant.name == "SQL helper"


def test_deleting_an_assistant_keeps_its_conversations(alice, alice_client, ollama):
    assistant = make_assistant(alice)
    conversation = make_conversation(alice, assistant=assistant, assistant_name="SQL helper")
    response = alice_client.post(
        reverse("assistants:mine_delete", args=[assistant.pk]), follow=True
    )
    assert "Conversations started from it are kept" in response.content.decode()
    conversation.refresh_from_db()
    assert (conversation.assistant, conversation.assistant_name) == (None, "SQL helper")
