"""Attachments in exports and imports: JSON carries images as base64 and documents' text so a
conversation re-imports whole; Markdown becomes a zip with the files it links to."""

from __future__ import annotations

import base64
import html
import io
import json
import zipfile

from django.urls import reverse

from conversations.attachments import intake
from conversations.models import Attachment, Conversation
from tests.conversations.attachments import files
from tests.conversations.transfer.files import upload
from tests.factories import make_conversation, make_message


def conversation_with_files(user) -> Conversation:
    conversation = make_conversation(user, title="Holiday photos")
    message = make_message(conversation, content="Where is this?")
    image = intake.accept_upload(user, "beach.png", files.png(120, 80))
    document = intake.accept_upload(user, "notes.md", b"# Trip\n\nDay one: the beach.")
    intake.attach(user, message, [image.pk, document.pk])
    return conversation


def test_the_json_export_carries_images_as_base64_and_documents_as_text(alice, alice_client):
    conversation = conversation_with_files(alice)

    response = alice_client.get(reverse("conversations:export_json", args=[conversation.id]))

    [message] = json.loads(response.content)["conversations"][0]["messages"]
    image, document = message["attachments"]
    assert {k: image[k] for k in ("kind", "name", "content_type", "width", "height")} == {
        "kind": "image",
        "name": "beach.png",
        "content_type": "image/png",
        "width": 120,
        "height": 80,
    }
    assert base64.b64decode(image["data"]).startswith(b"\x89PNG")
    assert document == {
        "kind": "document",
        "name": "notes.md",
        "content_type": "text/plain",
        "size": 27,
        "text": "# Trip\n\nDay one: the beach.",
        "text_chars": 27,
    }


def test_an_exported_conversation_imports_back_with_its_images_and_documents(
    alice, alice_client, bob, bob_client
):
    conversation = conversation_with_files(alice)
    exported = alice_client.get(reverse("conversations:export_json", args=[conversation.id]))

    response = upload(bob_client, exported.content)

    assert response.status_code == 302
    imported = Conversation.objects.for_user(bob).get()
    [message] = imported.messages.all()
    image, document = message.attachments.all()
    assert (image.owner, image.kind, image.name, image.width, image.height) == (
        bob,
        "image",
        "beach.png",
        120,
        80,
    )
    response = bob_client.get(image.get_absolute_url())
    assert response.status_code == 200
    assert alice_client.get(image.get_absolute_url()).status_code == 404
    assert (document.kind, document.name, document.text) == (
        "document",
        "notes.md",
        "# Trip\n\nDay one: the beach.",
    )
    page = bob_client.get(imported.get_absolute_url()).content.decode()
    assert f'<img src="{image.get_absolute_url()}" alt="beach.png"' in page


def test_an_import_with_a_bad_image_is_refused_whole(bob, bob_client):
    document = {
        "format": "chatsite",
        "version": 1,
        "conversations": [
            {
                "title": "Trap",
                "messages": [
                    {
                        "role": "user",
                        "content": "look",
                        "attachments": [
                            {
                                "kind": "image",
                                "name": "x.png",
                                "data": base64.b64encode(files.png_bomb()).decode(),
                            }
                        ],
                    }
                ],
            }
        ],
    }

    response = upload(bob_client, json.dumps(document).encode())

    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert 'Chat 1 ("Trap"), message 1, attachment 1: x.png is too large an image' in page
    assert "Nothing was imported." in page
    assert Conversation.objects.count() == 0
    assert Attachment.objects.count() == 0


def test_the_markdown_export_of_a_chat_with_files_is_a_zip_linking_to_them(alice, alice_client):
    conversation = conversation_with_files(alice)
    image, document = Attachment.objects.order_by("position")

    response = alice_client.get(reverse("conversations:export_markdown", args=[conversation.id]))

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith('.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    [markdown_name] = [n for n in archive.namelist() if n.endswith(".md")]
    markdown = archive.read(markdown_name).decode()
    image_path = f"files/{image.pk.hex[:8]}-beach.png"
    document_path = f"files/{document.pk.hex[:8]}-notes.txt"
    assert f"- ![beach.png]({image_path})" in markdown
    assert f"- [notes.md]({document_path})" in markdown
    assert archive.read(image_path).startswith(b"\x89PNG")
    assert archive.read(document_path) == b"# Trip\n\nDay one: the beach."


def test_the_markdown_export_of_a_chat_without_files_stays_plain_markdown(alice, alice_client):
    conversation = make_conversation(alice)
    make_message(conversation, content="Hello")

    response = alice_client.get(reverse("conversations:export_markdown", args=[conversation.id]))

    assert response["Content-Type"] == "text/markdown; charset=utf-8"
