"""An upload becomes a pending Attachment (checked, made safe, stored once), and a send takes the
owner's pending attachments onto its message."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from chatsite.accounts.models import User
from conversations.attachments.documents import read_document
from conversations.attachments.images import NOT_AN_IMAGE, looks_like_image, prepare_image
from conversations.attachments.refusal import AttachmentRefused
from conversations.models import Attachment, Message

# Names that promise an image: such a file that is not one is refused, not read as text.
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif"}
)
PENDING_LIFETIME = timedelta(days=1)
GONE = "An attachment of this message is no longer there. Remove it, attach it again and send."
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


def storage() -> Storage:
    return storages["attachments"]


def clean_name(raw: str) -> str:
    """The file's own name, without folders or control characters, at most 255 characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = _UNSAFE_NAME.sub("", name).strip() or "file"
    if len(name) > 255:
        suffix = PurePosixPath(name).suffix[:20]
        name = name[: 255 - len(suffix)] + suffix
    return name


def too_large(size: int) -> str:
    limit = settings.CHAT_UPLOAD_MAX_BYTES
    return (
        f"That file is {filesizeformat(size)}; the largest file you can attach is "
        f"{filesizeformat(limit)}."
    )


def accept_upload(user: User, raw_name: str, data: bytes) -> Attachment:
    """Check, make safe and store one uploaded file for the user's composer; AttachmentRefused
    (nothing stored) when it cannot be attached."""
    name = clean_name(raw_name)
    if len(data) > settings.CHAT_UPLOAD_MAX_BYTES:
        raise AttachmentRefused(too_large(len(data)))
    if not data:
        raise AttachmentRefused(f"{name} is empty.")
    _sweep_stale_pending()
    if looks_like_image(data):
        image = prepare_image(name, data, settings.CHAT_IMAGE_MAX_PIXELS)
        digest = hashlib.sha256(image.data).hexdigest()
        stored = store_once(f"images/{digest[:2]}/{digest}.{image.extension}", image.data)
        return Attachment.objects.create(
            owner=user,
            kind=Attachment.Kind.IMAGE,
            name=name,
            content_type=image.content_type,
            size=len(image.data),
            sha256=digest,
            file=stored,
            width=image.width,
            height=image.height,
        )
    if PurePosixPath(name.lower()).suffix in IMAGE_SUFFIXES:
        raise AttachmentRefused(NOT_AN_IMAGE.format(name=name))
    document = read_document(name, data, settings.CHAT_MAX_ATTACHMENT_CHARS)
    return Attachment.objects.create(
        owner=user,
        kind=Attachment.Kind.DOCUMENT,
        name=name,
        content_type=document.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        text=document.text,
        text_chars=document.total_chars,
    )


def store_once(name: str, data: bytes) -> str:
    """Content-addressed: the same image uploaded twice is one file."""
    files = storage()
    if files.exists(name):
        return name
    return files.save(name, ContentFile(data))


def _sweep_stale_pending() -> None:
    """Uploads never sent (a tab closed with files in its composer) go after a day."""
    Attachment.objects.pending().filter(created_at__lt=timezone.now() - PENDING_LIFETIME).delete()


def pending_for_send(user: User, ids: Sequence[uuid.UUID]) -> list[Attachment]:
    """The user's own pending attachments with these ids, in the given order; AttachmentRefused
    when one is missing (removed in another tab, swept, someone else's)."""
    wanted = list(dict.fromkeys(ids))
    found = {a.pk: a for a in Attachment.objects.for_user(user).pending().filter(pk__in=wanted)}
    if len(found) != len(wanted):
        raise AttachmentRefused(GONE)
    return [found[pk] for pk in wanted]


def check_images_allowed(
    attachments: Sequence[Attachment], vision_models: Sequence[str] | None
) -> None:
    """Refuse more images than a message may carry, or images for a model that cannot see.

    `vision_models` is None when the chosen model can see, else the installed models that can.
    """
    images = sum(1 for a in attachments if a.is_image)
    limit = settings.CHAT_MAX_IMAGES_PER_MESSAGE
    if images > limit:
        raise AttachmentRefused(
            f"This message has {images} images; a message can carry at most {limit}. "
            "Remove some and send again."
        )
    if images and vision_models is not None:
        if vision_models:
            names = ", ".join(vision_models)
            hint = f"Pick a model that can see images: {names}."
        else:
            hint = "No installed model can see images; ask an admin to pull one (such as gemma3)."
        raise AttachmentRefused(f"The chosen model cannot see images. {hint}")


def attach(user: User, message: Message, ids: Sequence[uuid.UUID]) -> None:
    """Inside the send's transaction: the pending attachments become the message's. Claimed with
    one conditional UPDATE, so two sends cannot both take one."""
    for position, pk in enumerate(dict.fromkeys(ids)):
        claimed = (
            Attachment.objects.for_user(user)
            .pending()
            .filter(pk=pk)
            .update(message=message, position=position)
        )
        if not claimed:
            raise AttachmentRefused(GONE)


@receiver(post_delete, sender=Attachment, dispatch_uid="attachments.delete_unused_file")
def _delete_unused_file(sender: type[Attachment], instance: Attachment, **kwargs: object) -> None:
    """An image file goes when the last attachment using it does (it is shared by content)."""
    if not instance.file:
        return

    def delete_if_unused() -> None:
        if not Attachment.objects.filter(file=instance.file).exists():
            storage().delete(instance.file)

    transaction.on_commit(delete_if_unused)
