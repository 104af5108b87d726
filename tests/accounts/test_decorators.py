"""admin_required, sync and async: visitors go to sign-in, members get 403, admins the page."""

from __future__ import annotations

import pytest
from asgiref.sync import iscoroutinefunction
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from chatsite.accounts.decorators import admin_required


@admin_required
def sync_page(request) -> HttpResponse:
    return HttpResponse("admin page")


@admin_required
async def async_page(request) -> HttpResponse:
    return HttpResponse("admin page")


def request_as(user):
    request = RequestFactory().get("/manage/example/")
    request.user = user
    request.htmx = False

    async def auser():
        return user

    request.auser = auser
    return request


def test_async_views_stay_async():
    assert iscoroutinefunction(async_page)
    assert not iscoroutinefunction(sync_page)


def test_sync_admin_views_answer_by_role(alice, admin_user):
    assert sync_page(request_as(AnonymousUser())).status_code == 302
    assert sync_page(request_as(alice)).status_code == 403
    assert sync_page(request_as(admin_user)).content == b"admin page"


@pytest.mark.django_db(transaction=True)
async def test_async_admin_views_answer_by_role(alice, admin_user):
    forbidden = await async_page(request_as(alice))
    allowed = await async_page(request_as(admin_user))

    assert forbidden.status_code == 403
    assert allowed.content == b"admin page"
    assert (await async_page(request_as(AnonymousUser()))).status_code == 302
    assert "Admins only" in forbidden.content.decode()
