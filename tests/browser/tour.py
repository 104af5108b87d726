"""A small world to walk through in the layout and accessibility tests: an admin with a few
conversations (a code block, a failed reply, a pinned and an archived chat with long titles), an
Ollama with models installed and loaded, and the addresses of the pages a person visits."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from chatsite.accounts.models import SiteSettings, User
from conversations.models import Conversation, Message
from tests.browser.conftest import LONG_TITLE, UNBROKEN_TITLE, LiveSite
from tests.factories import make_conversation, make_message, make_user

CODE_REPLY = (
    "Read it line by line:\n\n"
    "```python\nfrom pathlib import Path\n\n"
    "def count_words(path: Path) -> int:\n"
    "    # one line at a time, never the whole file\n"
    '    with path.open(encoding="utf-8") as lines:\n'
    "        return sum(len(line.split()) for line in lines)\n```\n\n"
    "| approach | memory |\n|---|---|\n| `read()` | whole file |\n| iterate | one line |\n\n"
    "> Passing `encoding` avoids surprises."
)


@dataclass(frozen=True)
class Tour:
    admin: User
    chat: Conversation
    failed_chat: Conversation
    pages: dict[str, str]  # name -> path


def seed_tour(live_site: LiveSite) -> Tour:
    live_site.ollama.add_model("llama3.2:latest")
    live_site.ollama.add_model("qwen3:8b", family="qwen3", parameter_size="8.2B")
    live_site.ollama.load_model("llama3.2:latest", keep_alive_seconds=280)
    admin = make_user("ada", admin=True, display_name="Ada Admin")
    bob = make_user("bob")
    make_message(make_conversation(bob, title="Bob's plans"), content="Plan my week")
    SiteSettings.objects.update_or_create(pk=1, defaults={"admin_review": True})
    chat = make_conversation(admin, title=LONG_TITLE, title_settled=True, pinned=True)
    make_message(chat, content="How do I count the words in a large file?")
    make_message(chat, role=Message.Role.ASSISTANT, content=CODE_REPLY, model="llama3.2:latest")
    failed_chat = make_conversation(admin, title="It went wrong", title_settled=True)
    make_message(failed_chat, content="Tell me a story")
    make_message(
        failed_chat,
        role=Message.Role.ASSISTANT,
        content="",
        model="llama3.2:latest",
        state=Message.State.FAILED,
        error="Ollama failed: the model stopped unexpectedly. Try again.",
    )
    make_conversation(admin, title=UNBROKEN_TITLE, title_settled=True, archived=True)
    pages = {
        "chat": chat.get_absolute_url(),
        "failed chat": failed_chat.get_absolute_url(),
        "new chat": reverse("conversations:index"),
        "history": reverse("conversations:history"),
        "search": reverse("conversations:search") + "?q=words",
        "review": reverse("conversations:review", args=[chat.id]),
        "settings": reverse("accounts:my_settings"),
        "users": reverse("accounts:users"),
        "models": reverse("library:index"),
        "api keys": reverse("gateway:keys"),
        "usage": reverse("gateway:usage"),
        "shared assistants": reverse("assistants:shared"),
    }
    return Tour(admin=admin, chat=chat, failed_chat=failed_chat, pages=pages)


def more_pages(tour: Tour) -> dict[str, str]:
    """The rest of what a signed-in admin can open: forms, confirmations, admin pages."""
    bob = User.objects.get(username="bob")
    bobs_chat = bob.conversations.get()
    return {
        "import and export": reverse("conversations:import"),
        "delete a conversation": reverse("conversations:delete", args=[tour.chat.id]),
        "rename a conversation": reverse("conversations:rename", args=[tour.chat.id]),
        "site settings": reverse("accounts:site_settings"),
        "review log": reverse("accounts:review_log"),
        "add an account": reverse("accounts:user_create"),
        "set a password": reverse("accounts:user_password", args=[bob.pk]),
        "delete an account": reverse("accounts:user_delete", args=[bob.pk]),
        "model details": reverse("library:details", args=["qwen3:8b"]),
        "delete a model": reverse("library:delete", args=["qwen3:8b"]),
        "change password": reverse("password_change"),
        "bob's conversations": reverse("conversations:admin_user_conversations", args=[bob.pk]),
        "admin review": reverse("conversations:admin_review", args=[bobs_chat.id]),
        "everyone's keys": reverse("gateway:manage_keys"),
        "everyone's usage": reverse("gateway:manage_usage"),
        "my assistants": reverse("assistants:mine"),
        "new assistant": reverse("assistants:mine_new"),
        "new shared assistant": reverse("assistants:shared_new"),
    }


SIGNED_OUT_PAGES = {"sign in": "/accounts/login/", "sign up": "/accounts/signup/"}
