"""Read-only review of a conversation: per reply, the model, options, timings and tokens.

Owners review their own conversations; admins may open anyone's only while the site's
admin review setting is on, and every such opening is recorded (AdminReviewRecord).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from chatsite.accounts.decorators import admin_required
from chatsite.accounts.models import AdminReviewRecord, User
from chatsite.accounts.requests import AccountRequest
from conversations.chat.frames import message_context
from conversations.models import Conversation, Message, MessageQuerySet, admin_review_allowed

ADMIN_LIST_PER_PAGE = 50


@login_required
@require_GET
def review(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    conversation = get_object_or_404(
        Conversation.objects.for_user(request.user), pk=conversation_id
    )
    thread = Message.objects.for_user(request.user).filter(conversation=conversation)
    context = review_context(conversation, thread) | {"admin_view": False}
    return render(request, "conversations/review.html", context)


@admin_required
@require_GET
def admin_review(request: AccountRequest, conversation_id: uuid.UUID) -> HttpResponse:
    """An admin opens someone's conversation: 404 while admin review is off; recorded when on."""
    if Conversation.objects.for_user(request.user).filter(pk=conversation_id).exists():
        return redirect("conversations:review", conversation_id)  # their own: nothing to record
    conversation = get_object_or_404(
        Conversation.objects.for_admin_review(request.user).select_related("owner"),
        pk=conversation_id,
    )
    AdminReviewRecord.objects.record(request.user, conversation)
    thread = Message.objects.for_admin_review(request.user).filter(conversation=conversation)
    context = review_context(conversation, thread) | {"admin_view": True}
    return render(request, "conversations/review.html", context)


@admin_required
@require_GET
def admin_user_conversations(request: AccountRequest, pk: int) -> HttpResponse:
    """One user's conversations for an admin to pick from (404 while admin review is off)."""
    if not admin_review_allowed(request.user):
        raise Http404("Admin review is off")
    owner = get_object_or_404(User, pk=pk)
    if owner == request.user:
        return redirect("conversations:history")
    conversations = Conversation.objects.for_admin_review(request.user).filter(owner=owner)
    page = Paginator(conversations.pinned_first(), ADMIN_LIST_PER_PAGE).get_page(
        request.GET.get("page")
    )
    counts = conversations.message_counts([item.pk for item in page.object_list])
    for item in page.object_list:
        item.message_count = counts.get(item.pk, 0)
    return render(request, "conversations/review_user.html", {"owner": owner, "page": page})


def review_context(conversation: Conversation, thread: MessageQuerySet) -> dict[str, Any]:
    ordered = thread.order_by("created_at", "-role").prefetch_related("attachments")
    items = [message_context(found) for found in ordered]
    replies = [item["message"] for item in items if item["message"].role == "assistant"]
    return {
        "conversation": conversation,
        "thread": items,
        "totals": {
            "replies": len(replies),
            "prompt_tokens": sum(reply.prompt_eval_count or 0 for reply in replies),
            "output_tokens": sum(reply.eval_count or 0 for reply in replies),
        },
    }
