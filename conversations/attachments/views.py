"""Attachment endpoints: upload from the composer, remove before sending, the image file and a
document's text. Owner only: anyone else (or a missing id) gets 404."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from chatsite.accounts.requests import AccountRequest
from conversations.attachments import intake
from conversations.attachments.prompt import document_block, estimated_tokens, read_file
from conversations.attachments.refusal import AttachmentRefused
from conversations.models import Attachment

IMAGE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@login_required
@require_POST
def upload(request: AccountRequest) -> HttpResponse:
    """One file from the composer: its chip (with the id the send carries), or 400 and the
    sentence saying why it cannot be attached. A sync view: decoding runs in a worker thread."""
    uploaded = request.FILES.get("file")
    try:
        if uploaded is None:
            raise AttachmentRefused("Choose a file to attach.")
        if uploaded.size is not None and uploaded.size > settings.CHAT_UPLOAD_MAX_BYTES:
            raise AttachmentRefused(intake.too_large(uploaded.size))
        attachment = intake.accept_upload(request.user, uploaded.name or "", uploaded.read())
    except AttachmentRefused as refusal:
        context = {"error": str(refusal)}
        return render(
            request, "conversations/partials/attachment_refused.html", context, status=400
        )
    return render(request, "conversations/partials/attachment_chip.html", chip_context(attachment))


def chip_context(attachment: Attachment) -> dict[str, object]:
    tokens = 0 if attachment.is_image else estimated_tokens(document_block(attachment))
    return {"attachment": attachment, "tokens": tokens}


@login_required
@require_POST
def remove(request: AccountRequest, attachment_id: uuid.UUID) -> HttpResponse:
    """Take a file out of the composer before sending (a sent one stays with its message)."""
    pending = Attachment.objects.for_user(request.user).pending()
    get_object_or_404(pending, pk=attachment_id).delete()
    return HttpResponse("")


@login_required
@require_GET
def file(request: AccountRequest, attachment_id: uuid.UUID) -> HttpResponse:
    """The stored image, with the type from our own record; never sniffed, never cached by
    anyone else. Read whole: a downscaled image is a few megabytes at most."""
    images = Attachment.objects.for_user(request.user).filter(kind=Attachment.Kind.IMAGE)
    attachment = get_object_or_404(images, pk=attachment_id)
    try:
        data = read_file(attachment)
    except OSError:
        raise Http404("The file is missing") from None
    response = HttpResponse(data, content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    # Opened in a tab, the browser shows the image in a page of its own, styled inline; an image
    # runs nothing, so that page may have its styles and nothing else.
    response["Content-Security-Policy"] = IMAGE_POLICY
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response


@login_required
@require_GET
def text(request: AccountRequest, attachment_id: uuid.UUID) -> HttpResponse:
    """A document's text, shown on demand under its chip."""
    documents = Attachment.objects.for_user(request.user).filter(kind=Attachment.Kind.DOCUMENT)
    attachment = get_object_or_404(documents, pk=attachment_id)
    return render(
        request, "conversations/partials/attachment_text.html", {"attachment": attachment}
    )
