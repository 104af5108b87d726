"""can_use_site and is_site_admin: the checks pages and websocket consumers share."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from chatsite.accounts.access import can_use_site, is_site_admin
from tests.factories import make_user


def test_anonymous_and_missing_users_may_not_use_the_site():
    assert not can_use_site(AnonymousUser())
    assert not can_use_site(None)
    assert not is_site_admin(AnonymousUser())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "uses_site", "is_admin"),
    [
        ({}, True, False),
        ({"admin": True}, True, True),
        ({"approved": False}, False, False),
        ({"is_active": False}, False, False),
        ({"admin": True, "is_active": False}, False, False),
        ({"admin": True, "approved": False}, False, False),
    ],
)
def test_only_active_approved_accounts_use_the_site_and_only_admins_run_it(
    fields, uses_site, is_admin
):
    user = make_user("someone", **fields)

    assert can_use_site(user) is uses_site
    assert is_site_admin(user) is is_admin
    assert user.is_site_admin is is_admin
