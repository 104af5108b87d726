"""conversations.history.review: the read-only review of one's own conversation; admin review,
off by default, and every admin opening recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from chatsite.accounts.models import AdminReviewRecord, SiteSettings
from conversations.models import Conversation, Message
from tests.factories import make_conversation, make_message


def turn_admin_review(on: bool) -> None:
    settings = SiteSettings.load()
    settings.admin_review = on
    settings.save()


# Review


@pytest.fixture
def reviewed(alice) -> Conversation:
    conversation = make_conversation(alice, title="Benchmarks", system_prompt="Be brief.")
    started = timezone.now() - timedelta(minutes=5)
    make_message(conversation, content="Compare <b>them</b>")
    make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        content="**Fast** one",
        model="qwen3:8b",
        options={"temperature": 0.2, "num_ctx": 4096},
        prompt_eval_count=31,
        eval_count=120,
        eval_duration_ns=4_000_000_000,
        total_duration_ns=5_250_000_000,
        finished_at=started,
    )
    make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        content="Partial",
        state=Message.State.FAILED,
        error="Ollama went away mid-reply.",
        model="llama3.2:latest",
    )
    return conversation


def test_the_review_shows_each_replys_model_options_tokens_speed_and_state(alice_client, reviewed):
    page = alice_client.get(reverse("conversations:review", args=[reviewed.pk])).content.decode()

    assert "qwen3:8b" in page and "llama3.2:latest" in page
    assert '<th scope="row">temperature</th><td><code>0.2</code></td>' in page
    assert '<th scope="row">num_ctx</th><td><code>4096</code></td>' in page
    assert "<dd>31</dd>" in page and "<dd>120</dd>" in page
    assert "<dd>30.0</dd>" in page  # 120 tokens in 4 s
    assert "5.25 s" in page
    assert "Complete" in page and "Failed" in page
    assert "Ollama went away mid-reply." in page
    assert "<strong>Fast</strong>" in page
    assert "Compare &lt;b&gt;them&lt;/b&gt;" in page
    assert "Be brief." in page


def test_the_review_is_read_only_no_composer_no_socket(alice_client, reviewed):
    page = alice_client.get(reverse("conversations:review", args=[reviewed.pk])).content.decode()

    assert "ws-connect" not in page
    assert 'id="composer' not in page
    assert "Regenerate" not in page


# Admin review


def test_admin_review_is_off_by_default_404_and_not_recorded(admin_client, reviewed):
    response = admin_client.get(reverse("conversations:admin_review", args=[reviewed.pk]))
    listing = admin_client.get(
        reverse("conversations:admin_user_conversations", args=[reviewed.owner_id])
    )

    assert SiteSettings.load().admin_review is False
    assert response.status_code == 404
    assert listing.status_code == 404
    assert "Benchmarks" not in response.content.decode()
    assert not AdminReviewRecord.objects.exists()


def test_members_cannot_use_admin_review_even_when_it_is_on(bob_client, reviewed):
    turn_admin_review(True)

    response = bob_client.get(reverse("conversations:admin_review", args=[reviewed.pk]))

    assert response.status_code == 403
    assert not AdminReviewRecord.objects.exists()


def test_with_admin_review_on_an_admin_opens_a_conversation_read_only_and_it_is_recorded(
    admin_user, admin_client, alice, reviewed
):
    turn_admin_review(True)

    response = admin_client.get(reverse("conversations:admin_review", args=[reviewed.pk]))
    admin_client.get(reverse("conversations:admin_review", args=[reviewed.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Benchmarks" in page and "This opening is recorded" in page
    assert "ws-connect" not in page
    records = list(AdminReviewRecord.objects.all())
    assert len(records) == 2  # every opening
    record = records[0]
    assert (record.admin, record.owner, record.conversation_id) == (admin_user, alice, reviewed.pk)
    assert record.conversation_title == "Benchmarks"
    assert timezone.now() - record.opened_at < timedelta(minutes=1)


def test_an_admin_opening_their_own_conversation_is_not_recorded(admin_user, admin_client):
    turn_admin_review(True)
    own = make_conversation(admin_user)

    response = admin_client.get(reverse("conversations:admin_review", args=[own.pk]))

    assert response["Location"] == reverse("conversations:review", args=[own.pk])
    assert not AdminReviewRecord.objects.exists()


def test_with_admin_review_on_the_admin_sees_a_users_conversations_to_pick_from(
    admin_client, alice, reviewed
):
    turn_admin_review(True)
    make_conversation(alice, title="Second")

    response = admin_client.get(reverse("conversations:admin_user_conversations", args=[alice.pk]))

    page = response.content.decode()
    assert reverse("conversations:admin_review", args=[reviewed.pk]) in page
    assert "Second" in page
    assert not AdminReviewRecord.objects.exists()  # a list of titles is not an opening


def test_the_user_list_links_to_each_users_conversations_only_when_admin_review_is_on(
    admin_client, alice
):
    link = reverse("conversations:admin_user_conversations", args=[alice.pk])

    off = admin_client.get(reverse("accounts:users")).content.decode()
    turn_admin_review(True)
    on = admin_client.get(reverse("accounts:users")).content.decode()

    assert link not in off
    assert link in on


def test_an_admin_review_record_outlives_the_conversation(admin_client, reviewed):
    turn_admin_review(True)
    admin_client.get(reverse("conversations:admin_review", args=[reviewed.pk]))

    reviewed.delete()

    assert AdminReviewRecord.objects.get().conversation_title == "Benchmarks"


def with_files(conversation: Conversation) -> tuple:
    from conversations.attachments import intake
    from tests.conversations.attachments import files

    owner = conversation.owner
    image = intake.accept_upload(owner, "chart.png", files.png())
    document = intake.accept_upload(owner, "data.csv", b"a,b\n1,2\n")
    message = conversation.messages.filter(role=Message.Role.USER).get()
    intake.attach(owner, message, [image.pk, document.pk])
    return image, document


def test_the_review_shows_the_owner_their_images_and_documents(alice_client, reviewed):
    image, document = with_files(reviewed)

    page = alice_client.get(reverse("conversations:review", args=[reviewed.pk])).content.decode()

    assert f'<img src="{image.get_absolute_url()}" alt="chart.png"' in page
    assert reverse("conversations:attachment_text", args=[document.pk]) in page


def test_an_admin_reviewing_sees_file_names_and_document_text_but_no_image_url(
    admin_client, reviewed
):
    turn_admin_review(True)
    image, _document = with_files(reviewed)

    response = admin_client.get(reverse("conversations:admin_review", args=[reviewed.pk]))

    page = response.content.decode()
    assert "chart.png" in page and "data.csv" in page
    assert "a,b\n1,2" in page
    assert image.get_absolute_url() not in page
    assert admin_client.get(image.get_absolute_url()).status_code == 404
