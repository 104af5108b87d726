"""Attachment endpoints: upload (a chip, or a sentence and nothing stored), remove, the image
file and a document's text; every one 404 for anyone but the owner."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversations.models import Attachment
from tests.conversations.attachments import files
from tests.factories import make_conversation, make_message

UPLOAD = reverse("conversations:attachment_upload")


def upload(client, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, content_type)})


def text(response) -> str:
    """The page as read: filesizeformat's non-breaking spaces as spaces."""
    return response.content.decode().replace("\xa0", " ")


def stored_files() -> list[Path]:
    root = Path(storages["attachments"].location)
    return [path for path in root.rglob("*") if path.is_file()]


def test_an_uploaded_image_is_stored_once_by_its_hash_and_answered_with_its_chip(
    alice, alice_client
):
    response = upload(alice_client, "shot.png", files.png(3000, 1000), "image/png")

    attachment = Attachment.objects.get()
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<input type="hidden" name="attachment" value="{attachment.id}">' in page
    assert f'src="{attachment.get_absolute_url()}"' in page
    assert (attachment.owner, attachment.message, attachment.kind) == (alice, None, "image")
    assert (attachment.width, attachment.height) == (1568, 523)
    assert [path.name for path in stored_files()] == [f"{attachment.sha256}.png"]
    # The same picture again is a second attachment of the same file.
    upload(alice_client, "again.png", files.png(3000, 1000), "image/png")
    assert Attachment.objects.count() == 2
    assert len(stored_files()) == 1


def test_an_uploaded_document_keeps_its_text_and_its_chip_shows_name_and_size(alice_client):
    response = upload(alice_client, "notes.md", b"# Plan\n\nShip it.\n", "text/markdown")

    attachment = Attachment.objects.get()
    assert response.status_code == 200
    assert "notes.md" in response.content.decode()
    assert "17 bytes" in text(response)
    assert (attachment.kind, attachment.text, attachment.size) == (
        "document",
        "# Plan\n\nShip it.\n",
        17,
    )
    assert stored_files() == []


def test_a_cut_document_says_how_much_will_be_sent(alice_client, settings):
    settings.CHAT_MAX_ATTACHMENT_CHARS = 1000
    response = upload(alice_client, "log.txt", b"y" * 2500, "text/plain")
    assert "Only the first 1,000 of 2,500 characters will be sent." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "data", "sentence"),
    [
        (
            "bomb.png",
            files.png_bomb(),
            "bomb.png is too large an image; the limit is 50 megapixels.",
        ),
        (
            "cat.png",
            b"<!doctype html><html><script>alert(1)</script></html>",
            "cat.png is not a PNG, JPEG, WebP or GIF image.",
        ),
        ("scan.pdf", files.pdf(""), "scan.pdf has no text to read"),
        ("secret.pdf", files.pdf("x", password="pw"), "secret.pdf is protected by a password."),
        ("empty.txt", b"", "empty.txt is empty."),
    ],
)
def test_bad_input_gets_a_sentence_and_nothing_is_stored(alice_client, name, data, sentence):
    response = upload(alice_client, name, data)

    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert Attachment.objects.count() == 0
    assert stored_files() == []


def test_a_60_mb_upload_is_refused_with_the_limit_and_nothing_is_stored(alice_client):
    response = upload(alice_client, "huge.png", b"\0" * (60 * 1024 * 1024))

    assert response.status_code == 400
    assert "That file is 60.0 MB; the largest file you can attach is 20.0 MB." in text(response)
    assert Attachment.objects.count() == 0
    assert stored_files() == []


def test_an_upload_without_a_file_is_refused(alice_client):
    response = alice_client.post(UPLOAD, {})
    assert response.status_code == 400
    assert "Choose a file to attach." in response.content.decode()


def test_uploading_needs_a_signed_in_user(client, db):
    response = upload(client, "a.txt", b"hello")
    assert response.status_code == 302
    assert Attachment.objects.count() == 0


def test_uploading_needs_the_csrf_token(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert upload(client, "a.txt", b"hello").status_code == 403


def test_the_owner_gets_the_image_with_our_content_type_and_nosniff(alice_client):
    upload(alice_client, "shot.png", files.png(), "image/png")
    attachment = Attachment.objects.get()

    response = alice_client.get(attachment.get_absolute_url())

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content.startswith(b"\x89PNG")


def test_bob_gets_404_for_alices_image_text_and_remove(alice, alice_client, bob_client):
    upload(alice_client, "shot.png", files.png(), "image/png")
    upload(alice_client, "notes.txt", b"private notes")
    image, document = Attachment.objects.order_by("kind")
    document, image = (image, document) if image.kind == "document" else (document, image)

    assert bob_client.get(image.get_absolute_url()).status_code == 404
    text_url = reverse("conversations:attachment_text", args=[document.id])
    assert bob_client.get(text_url).status_code == 404
    remove_url = reverse("conversations:attachment_remove", args=[image.id])
    assert bob_client.post(remove_url).status_code == 404
    assert Attachment.objects.count() == 2


def test_the_owner_reads_a_documents_text_escaped(alice_client):
    upload(alice_client, "page.html", b"<script>alert(1)</script>")
    attachment = Attachment.objects.get()

    response = alice_client.get(reverse("conversations:attachment_text", args=[attachment.id]))

    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.content.decode()


def test_removing_a_pending_file_deletes_it_and_its_unused_image(
    alice_client, django_capture_on_commit_callbacks
):
    upload(alice_client, "shot.png", files.png(), "image/png")
    upload(alice_client, "same.png", files.png(), "image/png")
    first, second = Attachment.objects.all()
    remove = [reverse("conversations:attachment_remove", args=[a.id]) for a in (first, second)]

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(remove[0])
    assert response.status_code == 200
    assert len(stored_files()) == 1  # still used by the other attachment
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(remove[1])

    assert Attachment.objects.count() == 0
    assert stored_files() == []


def test_a_sent_file_cannot_be_removed_from_its_message(alice, alice_client):
    upload(alice_client, "shot.png", files.png(), "image/png")
    attachment = Attachment.objects.get()
    attachment.message = make_message(make_conversation(alice))
    attachment.save()

    response = alice_client.post(reverse("conversations:attachment_remove", args=[attachment.id]))

    assert response.status_code == 404
    assert Attachment.objects.count() == 1


def test_pending_uploads_older_than_a_day_are_swept_by_the_next_upload(alice_client):
    from datetime import timedelta

    from django.utils import timezone

    upload(alice_client, "old.txt", b"old")
    Attachment.objects.update(created_at=timezone.now() - timedelta(days=2))
    upload(alice_client, "new.txt", b"new")

    assert list(Attachment.objects.values_list("name", flat=True)) == ["new.txt"]


def test_the_conversation_page_shows_a_sent_image_and_a_document_chip(alice, alice_client):
    upload(alice_client, "shot.png", files.png(), "image/png")
    upload(alice_client, "notes.txt", b"private notes")
    message = make_message(make_conversation(alice), content="See these")
    Attachment.objects.update(message=message)
    image = Attachment.objects.get(kind="image")
    document = Attachment.objects.get(kind="document")

    page = text(alice_client.get(message.conversation.get_absolute_url()))

    assert f'<img src="{image.get_absolute_url()}" alt="shot.png"' in page
    text_url = reverse("conversations:attachment_text", args=[document.id])
    assert f'hx-get="{text_url}"' in page
    assert 'notes.txt</span> <span class="attachment-size">13 bytes' in page


def test_a_refused_first_message_keeps_its_files_in_the_composer(alice, alice_client, ollama):
    upload(alice_client, "notes.txt", b"keep me")
    attachment = Attachment.objects.get()

    response = alice_client.post(
        reverse("conversations:create"),
        {"message": "   ", "model": "llama3.2:latest", "attachment": str(attachment.id)},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Type a message first." in page
    assert f'<input type="hidden" name="attachment" value="{attachment.id}">' in page


def test_deleting_a_conversation_deletes_its_attachments_and_their_files(
    alice, alice_client, django_capture_on_commit_callbacks
):
    upload(alice_client, "shot.png", files.png(), "image/png")
    conversation = make_conversation(alice)
    Attachment.objects.update(message=make_message(conversation))

    with django_capture_on_commit_callbacks(execute=True):
        conversation.delete()

    assert Attachment.objects.count() == 0
    assert stored_files() == []
