"""What a user can do to a conversation: send, regenerate, edit and resend, stop.

Plain async functions that consumers and views call and tests drive directly. Each validates,
stores the user's side first, announces the new turn to the conversation's group, and starts a
generation that belongs to no socket.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects

from chatsite.accounts.models import User
from chatsite.channel_layer import default_layer
from chatsite.db_threads import in_transaction_thread
from chatsite.jobs import launch, taken_lease
from chatsite.ollama import ChatMessage
from conversations.assistants.models import Assistant
from conversations.attachments import intake
from conversations.attachments.prompt import content_for_model, encoded_images, images_to_send
from conversations.attachments.refusal import AttachmentRefused
from conversations.chat import frames
from conversations.chat.catalog import ModelCatalog, load_catalog, load_catalog_for
from conversations.chat.fair_use import claim_turn
from conversations.chat.forms import ConversationSettingsForm, EditForm, SendForm, form_errors
from conversations.chat.generation import (
    Generation,
    GenerationTiming,
    ReplyJob,
    control_group,
    conversation_group,
)
from conversations.chat.model_access import cannot_chat, load_model_access
from conversations.chat.titles import first_words
from conversations.chat.turn import StartedTurn, TurnSettings
from conversations.models import Conversation, Message

SETTINGS_KEYS = ("system_prompt", "temperature", "top_p", "num_ctx", "num_predict", "seed", "think")
BUSY = "A reply is still being written. Stop it or wait for it to finish before sending another."


def max_message_chars() -> int:
    return settings.CHAT_MAX_MESSAGE_CHARS


class ChatRefused(Exception):
    """A request the user has to correct; each error is a sentence shown to them."""

    def __init__(self, *errors: str) -> None:
        super().__init__(" ".join(errors))
        self.errors = list(errors)


async def send_message(
    user: User,
    conversation: Conversation | None,
    data: Mapping[str, Any],
    *,
    assistant: Assistant | None = None,
) -> StartedTurn:
    """Start a new turn with the user's message; a new conversation when none is given, started
    from `assistant` when one is given (its settings, not the data's, are used and copied)."""
    if assistant is not None:
        data = {**assistant.settings_data(), **_message_and_files(data)}
    form = SendForm(data)
    if not form.is_valid():
        raise ChatRefused(*form_errors(form))
    turn_settings = await _checked_settings(form)
    attachment_ids = form.cleaned_data["attachment"]
    if attachment_ids:
        await _check_attachments(user, attachment_ids, turn_settings)
    turn = await _begin_turn(
        user,
        conversation,
        turn_settings,
        new_text=form.cleaned_data["message"],
        assistant=assistant if conversation is None else None,
        attachment_ids=attachment_ids,
    )
    await _announce_and_start(turn, turn_settings)
    return turn


def _message_and_files(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the person wrote and attached, without the settings a form or frame also carried."""
    getlist = getattr(data, "getlist", None)  # a form post lists one file per field
    files = getlist("attachment") if getlist else data.get("attachment")
    return {"message": data.get("message", ""), "attachment": files}


async def _check_attachments(
    user: User, ids: Sequence[uuid.UUID], turn_settings: TurnSettings
) -> None:
    """Before anything is stored: the files are the user's and still pending, and images go
    only to a model that can see them (the catalog was just loaded: this reuses it)."""
    catalog = await load_catalog()
    choice = catalog.find(turn_settings.model)
    vision_models = (
        None if choice and choice.vision else [m.name for m in catalog.chat_models if m.vision]
    )
    try:
        attachments = await sync_to_async(intake.pending_for_send)(user, ids)
        intake.check_images_allowed(attachments, vision_models)
    except AttachmentRefused as refusal:
        raise ChatRefused(str(refusal)) from None


async def regenerate(user: User, conversation: Conversation) -> StartedTurn:
    """Replace the last reply (or a failed one: this is also Retry) with a new one."""
    turn_settings = await _checked_settings(_stored_settings_form(conversation))
    turn = await _begin_turn(user, conversation, turn_settings, replace_last_reply=True)
    await _announce_and_start(turn, turn_settings)
    return turn


async def edit_and_resend(
    user: User, conversation: Conversation, data: Mapping[str, Any]
) -> StartedTurn:
    """Change the last user message and answer it again; the old reply is replaced."""
    form = EditForm(data)
    if not form.is_valid():
        raise ChatRefused(*form_errors(form))
    turn_settings = await _checked_settings(_stored_settings_form(conversation))
    turn = await _begin_turn(
        user,
        conversation,
        turn_settings,
        edit=(form.cleaned_data["message_id"], form.cleaned_data["message"]),
    )
    await _announce_and_start(turn, turn_settings)
    return turn


async def stop(conversation: Conversation) -> None:
    """Ask whichever process runs this conversation's generation to stop it."""
    await default_layer().group_send(control_group(conversation.id), {"type": "chat.stop"})


def _stored_settings_form(conversation: Conversation) -> ConversationSettingsForm:
    return ConversationSettingsForm(
        {
            "model": conversation.model,
            "system_prompt": conversation.system_prompt,
            "think": "on" if conversation.think else "",
            **{k: v for k, v in conversation.options.items() if v is not None},
        }
    )


async def _checked_settings(form: ConversationSettingsForm) -> TurnSettings:
    if not form.is_valid():
        raise ChatRefused(*form_errors(form))
    # A model deleted seconds ago fails the reply with Ollama's own "not found" instead.
    model = form.cleaned_data["model"]
    catalog = await load_catalog_for(model)
    choice = catalog.find(model)
    if catalog.reachable and choice is None:
        raise ChatRefused(_not_installed(model, catalog))
    if problem := cannot_chat(choice):
        raise ChatRefused(problem)
    return TurnSettings(
        model=choice.name if choice else model,
        system_prompt=form.cleaned_data["system_prompt"],
        options=form.ollama_options(),
        think=form.cleaned_data["think"],
        model_thinks=bool(choice and choice.thinking),
        host=catalog.server_for(choice),
    )


def _not_installed(model: str, catalog: ModelCatalog) -> str:
    return f"The model '{model}' is not installed on Ollama at {catalog.host}. Pick another model."


@in_transaction_thread
def _begin_turn(
    user: User,
    conversation: Conversation | None,
    turn_settings: TurnSettings,
    *,
    new_text: str | None = None,
    replace_last_reply: bool = False,
    edit: tuple[uuid.UUID, str] | None = None,
    assistant: Assistant | None = None,
    attachment_ids: Sequence[uuid.UUID] = (),
) -> StartedTurn:
    """Store the user's side of a turn and the reply placeholder, atomically.

    The conversation row is locked so two sends at once cannot both start a generation.
    """
    with transaction.atomic():
        if conversation is None:
            conversation = Conversation.objects.create(
                owner=user, title=first_words(new_text or ""), **_started_from(assistant)
            )
        else:
            conversation = (
                Conversation.objects.for_user(user).select_for_update().get(pk=conversation.pk)
            )
        messages = Message.objects.for_user(user).filter(conversation=conversation)
        messages.reap_expired()
        if messages.live_streaming().exists():
            raise ChatRefused(BUSY)
        # Checked here, in the turn's one transaction, so a send costs no extra database trip.
        if problem := load_model_access().refusal(user, turn_settings.model):
            raise ChatRefused(problem)
        if problem := claim_turn(user):
            raise ChatRefused(problem)
        history = list(messages.order_by("created_at", "-role"))
        removed_ids = [m.pk for m in history]
        user_message = _apply_user_side(conversation, history, new_text, replace_last_reply, edit)
        if attachment_ids and user_message is not None:
            try:
                intake.attach(user, user_message, attachment_ids)
            except AttachmentRefused as refusal:
                raise ChatRefused(str(refusal)) from None
        # One query: what the frames show and the model is sent, read here, not in async code.
        prefetch_related_objects(history, "attachments")
        kept = {m.pk for m in history}
        removed_ids = [pk for pk in removed_ids if pk not in kept]
        conversation.model = turn_settings.model
        conversation.system_prompt = turn_settings.system_prompt
        conversation.options = turn_settings.options
        conversation.think = turn_settings.think
        conversation.save()
        reply = Message.objects.create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            state=Message.State.STREAMING,
            model=turn_settings.model,
            options=turn_settings.options,
            **taken_lease(GenerationTiming().lease_seconds),
        )
    return StartedTurn(
        conversation,
        user_message,
        reply,
        user_message_is_new=new_text is not None,
        removed_ids=tuple(removed_ids),
        earlier=tuple(history),
    )


def _started_from(assistant: Assistant | None) -> dict[str, Any]:
    """A new conversation's copy of the assistant it starts from, as the assistant is now."""
    if assistant is None:
        return {}
    if not Assistant.objects.filter(pk=assistant.pk).exists():
        raise ChatRefused("That assistant was deleted a moment ago. Start a chat without it.")
    return {
        "assistant": assistant,
        "assistant_name": assistant.name,
        "assistant_settings": assistant.snapshot(),
    }


def _apply_user_side(
    conversation: Conversation,
    history: list[Message],
    new_text: str | None,
    replace_last_reply: bool,
    edit: tuple[uuid.UUID, str] | None,
) -> Message | None:
    """Change the stored history for this turn; history is updated in place."""
    if new_text is not None:
        message = Message.objects.create(
            conversation=conversation, role=Message.Role.USER, content=new_text
        )
        history.append(message)
        return message
    if replace_last_reply:
        if not history or history[-1].role != Message.Role.ASSISTANT:
            raise ChatRefused("There is no reply to regenerate.")
        history.pop().delete()
        return None
    assert edit is not None  # neither a new message nor a regenerate: an edit
    message_id, text = edit
    users = [m for m in history if m.role == Message.Role.USER]
    if not users or users[-1].pk != message_id:
        raise ChatRefused("Only your last message can be edited.")
    message = users[-1]
    for later in history[history.index(message) + 1 :]:
        later.delete()
    del history[history.index(message) + 1 :]
    message.content = text
    message.save(update_fields=["content"])
    return message


def chat_history(
    conversation: Conversation,
    messages: Sequence[Message],
    images: Mapping[uuid.UUID, tuple[str, ...]] | None = None,
) -> list[ChatMessage]:
    """What the model is sent: the system prompt, then every turn with text, a user message's
    documents in blocks after its text and its `images` (base64, chosen by images_to_send).

    Failed replies (no text) are left out; stopped and interrupted replies are sent as far as
    they got, since that is what the user saw and answered.
    """
    history = []
    if conversation.system_prompt.strip():
        history.append(ChatMessage(role="system", content=conversation.system_prompt))
    for message in messages:
        if message.role == Message.Role.ASSISTANT and not message.content:
            continue
        if message.role == Message.Role.USER:
            history.append(
                ChatMessage(
                    role=message.role,
                    content=content_for_model(message),
                    images=(images or {}).get(message.pk, ()),
                )
            )
        else:
            history.append(ChatMessage(role=message.role, content=message.content))
    return history


async def _model_sees(model: str) -> bool:
    choice = (await load_catalog()).find(model)
    return bool(choice and choice.vision)


async def _announce_and_start(turn: StartedTurn, turn_settings: TurnSettings) -> None:
    conversation, reply, earlier = turn.conversation, turn.reply, turn.earlier
    chosen = images_to_send(earlier, turn_settings.options.get("num_ctx"))
    if chosen and not await _model_sees(turn_settings.model):
        chosen = {}  # earlier images, after a switch to a model that cannot see them
    images = await encoded_images(chosen)
    job = ReplyJob(
        conversation_id=conversation.id,
        owner_id=conversation.owner_id,
        message=reply,
        model=turn_settings.model,
        host=turn_settings.host,
        history=chat_history(conversation, earlier, images),
        options=turn_settings.options,
        # Never send `think` to a model without the capability: Ollama answers 400.
        think=turn_settings.think if turn_settings.model_thinks else None,
        # Once per conversation: not again after Regenerate or Edit, nor over a rename.
        make_title=not conversation.title_settled,
        first_user_text=next((m.content for m in earlier if m.role == Message.Role.USER), ""),
    )
    generation = Generation(job)
    # Listening before the turn is shown: a Stop sent the moment it appears is never lost.
    await generation.listen()
    await default_layer().group_send(
        conversation_group(conversation.id),
        {"type": "chat.frame", "html": frames.turn_started(turn)},
    )
    launch(generation)
