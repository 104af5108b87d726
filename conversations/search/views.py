"""The search page: the words and a page number in, one page of matching messages out."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chatsite.accounts.requests import AccountRequest
from conversations.search.query import search as search_conversations


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=1000)
    page = forms.IntegerField(required=False, min_value=1, max_value=10_000)


@login_required
@require_GET
async def search(request: AccountRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    form.is_valid()  # a bad page number falls back to the first page; the words are kept
    query = form.cleaned_data.get("q") or ""
    page = form.cleaned_data.get("page") or 1
    results = await sync_to_async(search_conversations)(await request.auser(), query, page)
    # A history restore asks for the whole page even though htmx sends it.
    partial = request.htmx and not request.htmx.history_restore_request
    template = "partials/search_results" if partial else "search"
    return render(request, f"conversations/{template}.html", {"query": query, "results": results})
