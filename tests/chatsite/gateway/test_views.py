"""The API keys and usage pages: create (the secret shown once), revoke, other people's keys,
the admins' pages, the usage tables, chart and CSV."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chatsite.accounts.models import User
from chatsite.gateway.models import ApiKey, UsageRecord, hash_key
from conversations.models import Message
from tests.factories import make_conversation, make_message


def create_key(client: Client, name: str = "laptop", **data: str) -> str:
    page = client.post(reverse("gateway:keys"), {"name": name, **data})
    assert page.status_code == 200
    found = re.search(r'id="new-key-secret" class="secret">(cs-[^<]+)<', page.text)
    assert found, page.text
    return found[1]


def test_a_new_key_is_shown_once_and_stored_only_as_a_hash(alice: User, alice_client: Client):
    secret = create_key(alice_client)
    again = alice_client.get(reverse("gateway:keys"))

    [key] = ApiKey.objects.for_user(alice)
    assert key.hashed == hash_key(secret) and secret not in key.hashed
    assert key.prefix == secret[:11]
    assert secret not in again.text
    assert f"{key.prefix}…" in again.text
    assert "Create key" in again.text


def test_the_same_key_form_sent_again_makes_no_second_key(alice: User, alice_client: Client):
    form = alice_client.get(reverse("gateway:keys"))
    [once] = re.findall(r'name="once" value="([^"]+)"', form.text)
    sent = {"name": "laptop", "once": once}
    first = alice_client.post(reverse("gateway:keys"), sent)
    again = alice_client.post(reverse("gateway:keys"), sent)  # the browser reloading the answer

    assert 'id="new-key-secret"' in first.text
    assert 'id="new-key-secret"' not in again.text
    assert "That form was already sent: its key is in the list below" in again.text
    assert ApiKey.objects.for_user(alice).count() == 1
    # The answer's own form is a new one: sending it makes a second key.
    [fresh] = re.findall(r'name="once" value="([^"]+)"', again.text)
    assert fresh != once
    alice_client.post(reverse("gateway:keys"), {"name": "desktop", "once": fresh})
    assert [key.name for key in ApiKey.objects.for_user(alice).order_by("pk")] == [
        "laptop",
        "desktop",
    ]


def test_one_key_form_makes_one_key_even_when_its_two_sends_race(
    alice: User, alice_client: Client, bob: User
):
    """Two sends of one form that overlap (a double-click) see the same session, where neither
    has noted the form yet: here the second send comes in a session of its own."""
    [once] = re.findall(
        r'name="once" value="([^"]+)"', alice_client.get(reverse("gateway:keys")).text
    )
    racing = Client()
    racing.force_login(alice)
    first = alice_client.post(reverse("gateway:keys"), {"name": "laptop", "once": once})
    second = racing.post(reverse("gateway:keys"), {"name": "laptop", "once": once})

    assert 'id="new-key-secret"' in first.text
    assert 'id="new-key-secret"' not in second.text
    assert "That form was already sent: its key is in the list below" in second.text
    assert ApiKey.objects.for_user(alice).count() == 1
    # Another person's form token is theirs alone.
    bobs = Client()
    bobs.force_login(bob)
    assert (
        'id="new-key-secret"'
        in bobs.post(reverse("gateway:keys"), {"name": "b", "once": once}).text
    )
    assert ApiKey.objects.for_user(bob).count() == 1


def test_a_key_with_an_expiry_day_works_until_the_end_of_that_day(
    alice: User, alice_client: Client
):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    create_key(alice_client, expires=tomorrow.isoformat())

    [key] = ApiKey.objects.for_user(alice)
    assert key.expires_at is not None
    assert timezone.localtime(key.expires_at).date() == tomorrow + dt.timedelta(days=1)
    assert key.usable


def test_an_expiry_in_the_past_is_refused_and_nothing_is_made(alice: User, alice_client: Client):
    page = alice_client.post(reverse("gateway:keys"), {"name": "old", "expires": "2020-01-01"})

    assert "Pick today or a later day." in page.text
    assert 'value="old"' in page.text  # what was typed is kept
    assert not ApiKey.objects.exists()


def test_revoking_your_key(alice: User, alice_client: Client):
    create_key(alice_client)
    [key] = ApiKey.objects.for_user(alice)

    page = alice_client.post(reverse("gateway:key_revoke", args=[key.pk]), follow=True)

    key.refresh_from_db()
    assert key.revoked_at is not None and key.state == "revoked"
    assert "is revoked" in page.text


def test_bob_gets_404_for_alices_key(alice: User, alice_client: Client, bob_client: Client):
    create_key(alice_client)
    [key] = ApiKey.objects.for_user(alice)

    answer = bob_client.post(reverse("gateway:key_revoke", args=[key.pk]))
    listed = bob_client.get(reverse("gateway:keys"))

    assert answer.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert key.prefix not in listed.text


def test_signed_out_visitors_go_to_sign_in(client: Client, db):
    answer = client.get(reverse("gateway:keys"))

    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_admins_see_every_key_and_revoke_any(
    alice: User, alice_client: Client, admin_client: Client
):
    create_key(alice_client, name="alice's script")
    [key] = ApiKey.objects.for_user(alice)

    listed = admin_client.get(reverse("gateway:manage_keys"))
    revoked = admin_client.post(reverse("gateway:manage_key_revoke", args=[key.pk]), follow=True)

    assert "alice&#x27;s script" in listed.text and "alice" in listed.text
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert "alice&#x27;s key" in revoked.text


def test_members_get_403_on_the_admin_pages(alice_client: Client):
    for name in ("gateway:manage_keys", "gateway:manage_usage", "gateway:manage_usage_csv"):
        assert alice_client.get(reverse(name)).status_code == 403


def _usage(alice: User) -> None:
    conversation = make_conversation(alice)
    make_message(
        conversation,
        role=Message.Role.ASSISTANT,
        model="llama3.2:latest",
        prompt_eval_count=10,
        eval_count=20,
    )
    key, _ = ApiKey.objects.create_key(alice, "script")
    UsageRecord.objects.create(
        user=alice,
        key=key,
        endpoint="chat",
        model="qwen3:8b",
        status="complete",
        prompt_tokens=7,
        output_tokens=70,
    )


def test_your_usage_counts_chat_and_api_tokens_per_model_with_a_chart(
    alice: User, alice_client: Client, bob_client: Client
):
    _usage(alice)

    page = alice_client.get(reverse("gateway:usage"))
    bobs = bob_client.get(reverse("gateway:usage"))

    cells = re.sub(r"<td[^>]*>", "|", re.sub(r"\s+", " ", page.text)).replace("</td>", "")
    assert "|qwen3:8b|API|1|7|70" in cells
    assert "|llama3.2:latest|Chat|1|10|20" in cells
    assert '<rect class="bar-chat"' in page.text and '<rect class="bar-api"' in page.text
    assert "30 chat tokens, 77 API tokens" in page.text
    assert "qwen3:8b" not in bobs.text
    assert "No usage in the last 30 days." in bobs.text


def test_admins_see_everyones_usage_and_download_it(alice: User, admin_client: Client):
    _usage(alice)

    page = admin_client.get(reverse("gateway:manage_usage"))
    exported = admin_client.get(reverse("gateway:manage_usage_csv"))

    assert "By person" in page.text and "<td>alice</td>" in page.text
    lines = exported.content.decode().splitlines()
    today = timezone.localdate().isoformat()
    assert lines[0] == "day,user,source,model,requests,prompt_tokens,output_tokens"
    assert f"{today},alice,api,qwen3:8b,1,7,70" in lines
    assert f"{today},alice,chat,llama3.2:latest,1,10,20" in lines
    assert exported["Content-Disposition"].startswith("attachment")


def test_the_days_are_listed_newest_first(alice: User, alice_client: Client):
    key, _ = ApiKey.objects.create_key(alice, "script")
    for days_ago, tokens in ((3, 1), (1, 500), (2, 30)):
        record = UsageRecord.objects.create(
            user=alice, key=key, endpoint="chat", model="m", status="complete", output_tokens=tokens
        )
        when = timezone.now() - dt.timedelta(days=days_ago)
        UsageRecord.objects.filter(pk=record.pk).update(started_at=when)

    page = alice_client.get(reverse("gateway:usage")).text
    by_day = page[page.index("By day") :]

    days = re.findall(r"<td>(\d{4}-\d\d-\d\d)</td>", by_day)
    assert days == sorted(days, reverse=True) and len(days) == 3
