"""Pull rows and the audit log: name normalisation, one running pull per model and server, lease
reaping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from chatsite.library.models import INTERRUPTED_ERROR, AuditEntry, Pull
from chatsite.ollama import normalise_model_name


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("llama3.2", "llama3.2:latest"),
        ("Llama3.2:LATEST", "llama3.2:latest"),
        ("qwen3:8b", "qwen3:8b"),
        ("library/llama3.2", "llama3.2:latest"),
        ("registry.ollama.ai/library/llama3.2:1b", "llama3.2:1b"),
        ("https://registry.ollama.ai/myteam/tool", "myteam/tool:latest"),
        ("myteam/tool:v2", "myteam/tool:v2"),
        ("host:5000/ns/model", "host:5000/ns/model:latest"),
    ],
)
def test_model_names_are_normalised_to_one_spelling(typed, normalised):
    assert normalise_model_name(typed) == normalised


FIRST, SECOND = "http://gpu-1:11434", "http://gpu-2:11434"


def test_starting_a_pull_of_a_model_already_being_pulled_joins_it(admin_user, alice):
    first, created = Pull.objects.start_or_join("llama3.2:latest", admin_user, host=FIRST, lease=15)
    second, created_again = Pull.objects.start_or_join(
        "llama3.2:latest", alice, host=FIRST, lease=15
    )

    assert created and not created_again
    assert second.pk == first.pk
    assert Pull.objects.count() == 1


def test_the_same_model_pulled_on_another_server_is_another_pull(admin_user):
    first, _ = Pull.objects.start_or_join("llama3.2:latest", admin_user, host=FIRST, lease=15)
    second, created = Pull.objects.start_or_join(
        "llama3.2:latest", admin_user, host=SECOND, lease=15
    )

    assert created and second.pk != first.pk
    assert sorted(Pull.objects.running().values_list("host", flat=True)) == [FIRST, SECOND]


def test_the_database_refuses_a_second_running_pull_of_one_model_on_one_server(admin_user):
    Pull.objects.create(host=FIRST, name="llama3.2:latest", started_by=admin_user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Pull.objects.create(host=FIRST, name="llama3.2:latest", started_by=admin_user)
    # Another server's pull of it, and finished pulls of it, are not a conflict.
    Pull.objects.create(host=SECOND, name="llama3.2:latest", started_by=admin_user)
    Pull.objects.create(host=FIRST, name="llama3.2:latest", state=Pull.State.FAILED)
    Pull.objects.create(host=FIRST, name="llama3.2:latest", state=Pull.State.SUCCEEDED)


def test_only_pulls_whose_lease_expired_are_reaped_as_interrupted(admin_user):
    now = timezone.now()
    dead = Pull.objects.create(
        name="dead:latest", started_by=admin_user, lease_expires_at=now - timedelta(seconds=1)
    )
    alive = Pull.objects.create(
        name="alive:latest", started_by=admin_user, lease_expires_at=now + timedelta(seconds=10)
    )

    reaped = Pull.objects.reap_expired()

    assert [pull.pk for pull in reaped] == [dead.pk]
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.state, dead.error, dead.lease_expires_at) == ("failed", INTERRUPTED_ERROR, None)
    assert dead.finished_at is not None
    assert alive.state == "running"
    assert Pull.objects.reap_expired() == []  # reaped once, reported once


def test_progress_percentages_and_time_left_come_from_the_stored_bytes():
    pull = Pull(
        name="m:latest",
        layers={"sha256:" + "a" * 64: {"total": 400, "completed": 100}},
        completed=100,
        total=400,
        bytes_per_second=50,
    )
    assert pull.percent == 25
    assert pull.layer_rows[0]["short"] == "a" * 12
    assert pull.layer_rows[0]["percent"] == 25
    assert pull.seconds_left == 6
    assert Pull(total=0).percent == 0


def test_the_audit_log_lists_the_latest_entries_first(admin_user):
    for number in range(55):
        AuditEntry.objects.create(
            actor=admin_user,
            actor_name="ada",
            action="pull",
            model_name=f"m{number}",
            outcome="started",
        )
    latest = list(AuditEntry.objects.latest_first())
    assert len(latest) == 50
    assert latest[0].model_name == "m54"
