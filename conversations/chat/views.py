"""Chat pages: small views; every query starts from Conversation.objects.for_user()."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, reswap, retarget

from chatsite.accounts.models import User
from chatsite.accounts.requests import AccountRequest
from conversations.assistants.models import Assistant
from conversations.assistants.offers import offered, offered_one
from conversations.attachments.views import chip_context
from conversations.chat import actions as chat
from conversations.chat.catalog import ModelCatalog, load_catalog
from conversations.chat.forms import AttachmentIdsField
from conversations.chat.frames import message_contexts
from conversations.chat.model_access import aload_model_access
from conversations.models import Attachment, Conversation, Message

# The sidebar: pinned first, archived hidden (they stay on the history page).
SIDEBAR_FIELDS = ("id", "title", "pinned", "updated_at")


@login_required
@require_GET
async def index(request: AccountRequest) -> HttpResponse:
    """A new, empty chat; the conversation is created when the first message is sent.
    `?assistant=<id>` starts it from an assistant the user is offered (404 otherwise)."""
    user = await request.auser()
    assistant = None
    if "assistant" in request.GET:
        assistant = await _offered_assistant(user, request.GET["assistant"])
    context = await _page_context(user, None, assistant=assistant)
    return render(request, "conversations/chat.html", context)


@login_required
@require_GET
async def detail(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    user = await request.auser()
    conversation = await _owned_conversation(user, conversation_id)
    return render(request, "conversations/chat.html", await _page_context(user, conversation))


@login_required
@require_POST
async def create(request: AccountRequest) -> HttpResponse:
    """The first message of a new chat: store it, start the reply, show the conversation."""
    user = await request.auser()
    assistant = None
    if request.POST.get("assistant"):
        assistant = await _offered_assistant(user, request.POST["assistant"])
    try:
        turn = await chat.send_message(user, None, request.POST, assistant=assistant)
    except chat.ChatRefused as refusal:
        context = await _page_context(
            user, None, draft=request.POST, errors=refusal.errors, assistant=assistant
        )
        if request.htmx:
            response = render(request, "conversations/partials/composer.html", context)
            return reswap(retarget(response, "#composer"), "outerHTML")
        return render(request, "conversations/chat.html", context, status=400)
    if not request.htmx:
        return redirect("conversations:detail", turn.conversation.id)
    context = await _page_context(user, turn.conversation)
    response = render(request, "conversations/partials/chat_app.html", context)
    return push_url(response, turn.conversation.get_absolute_url())


@login_required
@require_GET
async def message(
    request: AccountRequest, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> HttpResponse:
    found = await _owned_message(request, conversation_id, message_id)
    [context] = await message_contexts([found])
    return render(request, "conversations/partials/message.html", context)


@login_required
@require_GET
async def edit_message(
    request: AccountRequest, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> HttpResponse:
    found = await _owned_message(request, conversation_id, message_id, role=Message.Role.USER)
    return render(request, "conversations/partials/edit_message.html", {"message": found})


async def _offered_assistant(user: User, pk: str) -> Assistant:
    access = await aload_model_access()
    found = await sync_to_async(offered_one)(user, access, pk)
    if found is None:
        raise Http404("No such assistant")
    return found


async def _owned_conversation(user: User, conversation_id: uuid.UUID) -> Conversation:
    try:
        return await Conversation.objects.for_user(user).aget(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise Http404("No such conversation") from None


async def _owned_message(
    request: AccountRequest,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    role: str | None = None,
) -> Message:
    messages = Message.objects.for_user(await request.auser()).filter(
        conversation_id=conversation_id
    )
    if role:
        messages = messages.filter(role=role)
    try:
        return await messages.prefetch_related("attachments").aget(pk=message_id)
    except Message.DoesNotExist:
        raise Http404("No such message") from None


async def _page_context(
    user: User,
    conversation: Conversation | None,
    *,
    draft: Any = None,
    errors: list[str] | None = None,
    assistant: Assistant | None = None,
) -> dict[str, Any]:
    owned = Conversation.objects.for_user(user)
    catalog: ModelCatalog = await load_catalog()
    access = await aload_model_access()
    found: list[Message] = []
    if conversation is not None:
        thread = Message.objects.for_user(user).filter(conversation=conversation)
        await sync_to_async(thread.reap_expired)()
        ordered = thread.order_by("created_at", "-role").prefetch_related("attachments")
        found = [m async for m in ordered]
    thread_items = await message_contexts(found)
    streaming = any(m.state == Message.State.STREAMING for m in found)
    last_used = conversation or await owned.only("model").exclude(model="").afirst()
    new_chat = conversation is None
    return {
        "assistant": assistant,
        "assistants": await sync_to_async(offered)(user, access) if new_chat else [],
        "conversation": conversation,
        "conversations": [c async for c in owned.in_sidebar().only(*SIDEBAR_FIELDS)[:100]],
        "catalog": catalog,
        "model_choices": access.choices_for(user, catalog),
        "selected_model": (draft or {}).get("model")
        or (last_used.model if last_used else access.default_model),
        "thread": thread_items,
        "streaming": streaming,
        "draft": draft or {},
        "errors": errors or [],
        "settings_values": _settings_values(conversation, draft, assistant),
        "max_message_chars": chat.max_message_chars(),
        "upload_max_bytes": settings.CHAT_UPLOAD_MAX_BYTES,
        "max_images": settings.CHAT_MAX_IMAGES_PER_MESSAGE,
        "pending_attachments": await _draft_attachments(user, draft),
    }


async def _draft_attachments(user: User, draft: Any) -> list[dict[str, object]]:
    """A refused first message keeps its files in the composer."""
    if not draft or not hasattr(draft, "getlist"):
        return []
    try:
        ids = AttachmentIdsField().clean(draft.getlist("attachment"))
    except forms.ValidationError:
        return []
    pending = Attachment.objects.for_user(user).pending().filter(pk__in=ids)
    return [chip_context(attachment) async for attachment in pending]


def _settings_values(
    conversation: Conversation | None, draft: Any, assistant: Assistant | None = None
) -> dict[str, Any]:
    if assistant is not None:
        return {**assistant.settings_data(), "think": assistant.think}
    if draft:
        return {key: draft.get(key, "") for key in chat.SETTINGS_KEYS}
    if conversation is None:
        return {"think": True}
    return {
        "system_prompt": conversation.system_prompt,
        "think": conversation.think,
        **conversation.options,
    }
