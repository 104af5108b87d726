"""Chat pages: the new-chat page, the first message, a conversation's page, the edit form."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from conversations.models import Conversation, Message
from tests.factories import make_conversation, make_message, make_user
from tests.live import wait_until


def test_the_chat_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("conversations:index"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_new_chat_page_offers_the_installed_models(alice_client, ollama):
    ollama.add_model("qwen3:8b", capabilities=("completion", "thinking"))
    page = alice_client.get(reverse("conversations:index")).content.decode()
    assert '<label for="composer-input" class="visually-hidden">Message</label>' in page
    assert '<label for="model-picker">Model</label>' in page
    assert 'value="llama3.2:latest"' in page
    assert 'value="qwen3:8b" data-thinking="1"' in page
    assert 'id="send-button"' in page


def test_the_model_picker_defaults_to_the_last_used_model(alice, alice_client, ollama):
    ollama.add_model("qwen3:8b")
    make_conversation(alice, model="qwen3:8b")
    page = alice_client.get(reverse("conversations:index")).content.decode()
    assert 'value="qwen3:8b" data-thinking="0" selected' in page


def test_the_page_says_when_ollama_is_unreachable_and_names_the_host(alice_client, settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    page = alice_client.get(reverse("conversations:index")).content.decode()
    assert "Ollama is not reachable at http://127.0.0.1:9" in page


def test_the_page_says_when_ollama_has_no_models(alice_client, ollama):
    ollama.remove_model("llama3.2:latest")
    page = alice_client.get(reverse("conversations:index")).content.decode()
    assert "has no models installed" in page
    assert "Ask an admin to pull one." in page
    assert reverse("library:index") not in page


def test_an_admin_is_sent_to_the_models_page_when_ollama_has_no_models(admin_client, ollama):
    ollama.remove_model("llama3.2:latest")
    page = admin_client.get(reverse("conversations:index")).content.decode()
    assert f'<a href="{reverse("library:index")}">Pull one on the models page.</a>' in page


def test_a_conversation_page_shows_its_messages_rendered_safely(alice, alice_client, ollama):
    conversation = make_conversation(alice, title="Sky")
    make_message(conversation, content="Why <b>blue</b>?")
    make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        content="**Rayleigh** <script>alert(1)</script>",
        eval_count=10,
        eval_duration_ns=500_000_000,
        prompt_eval_count=5,
    )
    page = alice_client.get(conversation.get_absolute_url()).content.decode()
    assert "Why &lt;b&gt;blue&lt;/b&gt;?" in page
    assert "<strong>Rayleigh</strong>" in page
    assert "<script>alert(1)" not in page
    assert "20.0 tokens/s" in page
    assert f'ws-connect="/ws/chat/{conversation.id}/"' in page


def test_a_reply_left_streaming_by_a_dead_process_shows_as_interrupted(alice, alice_client, ollama):
    conversation = make_conversation(alice)
    make_message(conversation, content="hi")
    reply = make_message(
        conversation, role=Message.Role.ASSISTANT, state=Message.State.STREAMING, content="half"
    )
    page = alice_client.get(conversation.get_absolute_url()).content.decode()
    reply.refresh_from_db()
    assert reply.state == Message.State.INTERRUPTED
    assert "Interrupted" in page
    assert "half" in page


@pytest.mark.django_db(transaction=True)
async def test_the_first_message_creates_the_conversation_and_shows_its_url(ollama):
    ollama.script_chat("Hello back.")
    # The title job may finish before the conversation is read: it then names it the same.
    ollama.script_generate("Hello")
    alice = await database_sync_to_async(make_user)("alice")
    client = AsyncClient()
    await client.aforce_login(alice)
    response = await client.post(
        reverse("conversations:create"),
        {"message": "Hello", "model": "llama3.2:latest", "temperature": "0.5"},
        headers={"HX-Request": "true"},
    )

    conversation = await Conversation.objects.aget(owner=alice)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == conversation.get_absolute_url()
    assert f'ws-connect="/ws/chat/{conversation.id}/"' in response.content.decode()
    assert conversation.title == "Hello"
    assert conversation.options == {"temperature": 0.5}

    async def reply_done():
        return await Message.objects.filter(
            conversation=conversation, role="assistant", state="complete"
        ).afirst()

    reply = await wait_until(reply_done, what="the reply to finish")
    assert reply.content == "Hello back."
    assert ollama.requests_to("/api/chat")[0].body["options"] == {"temperature": 0.5}


@pytest.mark.parametrize(
    ("message", "error"),
    [("   ", "Type a message first."), ("y" * 100_001, "the limit is 100,000")],
)
def test_a_bad_first_message_is_refused_and_kept_in_the_composer(
    alice, alice_client, ollama, message, error
):
    response = alice_client.post(
        reverse("conversations:create"),
        {"message": message, "model": "llama3.2:latest"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert error in body
    assert response["HX-Retarget"] == "#composer"
    assert message.strip()[:50] in body
    assert not Conversation.objects.exists()


def test_a_bad_first_message_without_htmx_shows_the_page_with_the_error(alice_client, ollama):
    response = alice_client.post(
        reverse("conversations:create"), {"message": "hi", "model": "missing-model"}
    )
    assert response.status_code == 400
    assert "not installed" in response.content.decode().replace("&#x27;", "'")
    assert not Conversation.objects.exists()


def test_the_edit_form_shows_the_message_text(alice, alice_client, ollama):
    conversation = make_conversation(alice)
    message = make_message(conversation, content="typo here")
    url = reverse("conversations:edit_message", args=[conversation.id, message.id])
    body = alice_client.get(url).content.decode()
    assert "Save and resend" in body
    assert "typo here" in body


def test_a_reply_too_long_to_format_is_shown_as_plain_text(alice, alice_client, ollama):
    conversation = make_conversation(alice)
    block = "```python\n" + "x = '<b>'\n" * 200_000 + "```"
    make_message(conversation, role=Message.Role.ASSISTANT, content=block)
    page = alice_client.get(reverse("conversations:detail", args=[conversation.id])).content
    text = page.decode()
    assert "too long to format, so it is shown as plain text" in text
    assert "x = &#x27;&lt;b&gt;&#x27;" in text  # escaped, never markup
    assert "<b>" not in text
