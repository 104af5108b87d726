"""The account rules kept in the model layer: sign-up by mode, the last admin, last seen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chatsite.accounts.models import LastAdminError, SiteSettings, User
from tests.factories import PASSWORD, make_conversation, make_user

Mode = SiteSettings.SignupMode


def set_mode(mode: str) -> None:
    settings = SiteSettings.load()
    settings.signup_mode = mode
    settings.save()


@pytest.mark.django_db
def test_the_first_account_on_a_fresh_install_becomes_an_approved_admin():
    first = User.objects.sign_up(username="first", password=PASSWORD)

    first.refresh_from_db()
    assert first.is_staff and first.is_superuser and first.is_approved
    assert first.is_site_admin


@pytest.mark.django_db
def test_the_first_account_is_admin_even_when_sign_up_is_closed():
    set_mode(Mode.CLOSED)

    first = User.objects.sign_up(username="first", password=PASSWORD)

    assert first is not None and first.is_site_admin


@pytest.mark.django_db
def test_later_accounts_are_members_awaiting_approval_by_default(admin_user):
    later = User.objects.sign_up(username="later", password=PASSWORD, display_name="Lat")

    later.refresh_from_db()
    assert (later.is_staff, later.is_approved, later.display_name) == (False, False, "Lat")
    assert later.check_password(PASSWORD)


@pytest.mark.django_db
def test_open_mode_approves_new_accounts_at_once(admin_user):
    set_mode(Mode.OPEN)

    later = User.objects.sign_up(username="later", password=PASSWORD)

    assert later.is_approved and not later.is_staff


@pytest.mark.django_db
def test_closed_mode_creates_no_account(admin_user):
    set_mode(Mode.CLOSED)

    assert User.objects.sign_up(username="later", password=PASSWORD) is None
    assert not User.objects.filter(username="later").exists()


@pytest.mark.django_db
def test_site_settings_are_one_row_defaulting_to_approval():
    SiteSettings.load()
    SiteSettings(signup_mode=Mode.OPEN).save()

    assert SiteSettings.objects.count() == 1
    assert SiteSettings.load().signup_mode == Mode.OPEN


@pytest.mark.django_db
def test_a_fresh_site_defaults_to_approval_mode():
    assert SiteSettings.load().signup_mode == Mode.APPROVAL


@pytest.mark.django_db
def test_the_last_admin_cannot_lose_the_role_be_deactivated_or_deleted(admin_user):
    with pytest.raises(LastAdminError):
        User.objects.set_admin(admin_user, False)
    with pytest.raises(LastAdminError):
        User.objects.set_active(admin_user, False)
    with pytest.raises(LastAdminError):
        User.objects.remove(admin_user)

    admin_user.refresh_from_db()
    assert admin_user.is_site_admin


@pytest.mark.django_db
def test_an_inactive_admin_does_not_count_as_another_admin(admin_user):
    make_user("sleeper", admin=True, is_active=False)

    with pytest.raises(LastAdminError):
        User.objects.set_admin(admin_user, False)


@pytest.mark.django_db
def test_an_admin_can_step_down_when_another_admin_remains(admin_user):
    make_user("grace", admin=True)

    User.objects.set_admin(admin_user, False)

    admin_user.refresh_from_db()
    assert not admin_user.is_staff and not admin_user.is_superuser


@pytest.mark.django_db
def test_making_an_unapproved_account_admin_approves_it(admin_user):
    waiting = make_user("waiting", approved=False)

    User.objects.set_admin(waiting, True)

    waiting.refresh_from_db()
    assert waiting.is_site_admin


@pytest.mark.django_db
def test_removing_an_account_deletes_its_conversations(alice, bob, admin_user):
    make_conversation(alice)
    kept = make_conversation(bob)

    User.objects.remove(alice)

    assert not User.objects.filter(username="alice").exists()
    assert list(User.objects.get(username="bob").conversations.all()) == [kept]
    assert kept.owner_id == bob.pk


@pytest.mark.django_db
def test_conversation_counts_are_per_account(alice, bob):
    make_conversation(alice)
    make_conversation(alice)

    counts = dict(
        User.objects.with_conversation_count().values_list("username", "conversation_count")
    )

    assert counts == {"alice": 2, "bob": 0}


@pytest.mark.django_db
def test_last_seen_is_written_at_most_once_a_minute(alice):
    assert alice.touch_last_seen() is True
    first = User.objects.get(pk=alice.pk).last_seen

    assert alice.touch_last_seen() is False
    alice.last_seen = timezone.now() - timedelta(minutes=2)
    assert alice.touch_last_seen() is True
    assert User.objects.get(pk=alice.pk).last_seen > first


@pytest.mark.django_db(transaction=True)
async def test_last_seen_can_be_touched_from_async_code(alice):
    assert await alice.atouch_last_seen() is True
    assert await alice.atouch_last_seen() is False
    assert (await User.objects.aget(pk=alice.pk)).last_seen is not None


@pytest.mark.django_db
def test_role_and_status_read_plainly(alice, admin_user):
    waiting = make_user("waiting", approved=False)
    gone = make_user("gone", is_active=False)

    assert (admin_user.role, alice.role) == (User.Role.ADMIN, User.Role.MEMBER)
    assert [u.status for u in (alice, waiting, gone)] == [
        User.Status.ACTIVE,
        User.Status.AWAITING,
        User.Status.DEACTIVATED,
    ]
