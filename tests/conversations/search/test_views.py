"""Search: the database's own full-text index (FTS5 or tsvector), scoped to the user, kept in
step with every way text is written, and safe with whatever is typed.

Run on PostgreSQL too: DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatsite pytest ...
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.urls import reverse

from conversations.models import Message
from conversations.search import index as search_index
from conversations.search.query import PAGE_SIZE, Term, parse_query, search
from tests.factories import make_conversation, make_message, make_user
from tests.live import open_socket, receive_until

SEARCH = reverse("conversations:search")


def found(user, query: str) -> list[str]:
    """What a search shows, as the matched message texts (or titles for title hits)."""
    return [
        hit.message.content if hit.message else f"title: {hit.conversation.title}"
        for hit in search(user, query).hits
    ]


def test_words_are_parsed_into_words_phrases_and_prefixes():
    assert parse_query('Deploy "blue green" roll* x-ray') == [
        Term(("deploy",)),
        Term(("blue", "green")),
        Term(("roll",), prefix=True),
        Term(("x", "ray")),
    ]


def test_a_word_in_a_message_is_found_with_its_snippet_highlighted(alice, alice_client):
    chat = make_conversation(alice, title="Garden")
    make_message(chat, content="The tomatoes need staking before the storm.")
    make_message(chat, content="Unrelated words here.")

    response = alice_client.get(SEARCH, {"q": "tomatoes"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<mark>tomatoes</mark>" in page
    assert "Unrelated" not in page


def test_a_message_hit_links_to_the_message_inside_its_conversation(alice, alice_client):
    chat = make_conversation(alice, title="Garden")
    message = make_message(chat, content="Plant garlic in October.")

    response = alice_client.get(SEARCH, {"q": "garlic"})

    assert f'href="/c/{chat.id}/#message-{message.id}"' in response.content.decode()


def test_a_title_hit_links_to_the_conversation_with_the_title_highlighted(alice, alice_client):
    chat = make_conversation(alice, title="Quarterly budget review")

    response = alice_client.get(SEARCH, {"q": "budget"})

    page = response.content.decode()
    assert f'href="/c/{chat.id}/"' in page
    assert "Quarterly <mark>budget</mark> review" in page


def test_bob_never_finds_alices_conversations(alice, bob, bob_client):
    chat = make_conversation(alice, title="Secret launch plans")
    make_message(chat, content="The secret launch date is Friday.")
    make_message(make_conversation(bob, title="Mine"), content="My own launch notes.")

    response = bob_client.get(SEARCH, {"q": "launch"})

    page = response.content.decode()
    assert "My own <mark>launch</mark> notes" in page
    assert "Secret" not in page and "Friday" not in page
    assert found(bob, "secret") == []


def test_archived_conversations_are_found_and_marked(alice, alice_client):
    chat = make_conversation(alice, title="Old trip", archived=True)
    make_message(chat, content="Lisbon trams are lovely.")

    page = alice_client.get(SEARCH, {"q": "trams"}).content.decode()

    assert "<mark>trams</mark>" in page
    assert '<span class="badge">Archived</span>' in page


def test_a_message_that_uses_the_word_more_ranks_first(alice):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="kettle " + "filler words go here " * 20)
    make_message(chat, content="kettle kettle kettle, the kettle boiled")

    assert found(alice, "kettle")[0] == "kettle kettle kettle, the kettle boiled"


def test_a_phrase_only_matches_its_words_in_order(alice):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="the green door was open")
    make_message(chat, content="the door was green")

    assert found(alice, '"green door"') == ["the green door was open"]


def test_a_star_finds_words_that_start_with_the_prefix(alice):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="deployment went fine")
    make_message(chat, content="we deploy on Fridays")
    make_message(chat, content="nothing relevant")

    assert sorted(found(alice, "deplo*")) == ["deployment went fine", "we deploy on Fridays"]
    assert found(alice, "deplo") == []


def test_every_word_must_match(alice):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="apples and pears")
    make_message(chat, content="apples only")

    assert found(alice, "apples pears") == ["apples and pears"]
    assert found(alice, "apples pea*") == ["apples and pears"]
    assert found(alice, '"apples and" pea*') == ["apples and pears"]


@pytest.mark.parametrize(
    "query",
    ['"', 'AND(', 'foo"bar', "*", "NEAR(a b)", "-", "'", "a:b", "\\", "(((", "OR", "x AND",
     "title:secret", "^start", "a & b | !c", "<->", "'quoted'", "NOT", "\x00", "🙂", "e" * 5000],
)  # fmt: skip
def test_query_syntax_of_either_database_never_breaks_the_page(alice, alice_client, query):
    make_message(make_conversation(alice), content="a b c start secret quoted")

    response = alice_client.get(SEARCH, {"q": query})

    assert response.status_code == 200


def test_an_empty_query_shows_a_hint(alice_client):
    response = alice_client.get(SEARCH, {"q": "  "})

    assert response.status_code == 200
    assert "Type words to find them" in response.content.decode()


def test_html_in_a_message_stays_text_in_the_snippet(alice, alice_client):
    make_message(make_conversation(alice), content='<script>alert("x")</script> needle <b>bold</b>')

    page = alice_client.get(SEARCH, {"q": "needle"}).content.decode()

    assert "<mark>needle</mark>" in page
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    # SQLite keeps the tags as escaped text; PostgreSQL's parser reads them as tags and drops them.
    assert "&lt;script&gt;" in page or "alert(&quot;x&quot;)" in page


def test_results_come_twenty_to_a_page(alice, alice_client):
    chat = make_conversation(alice, title="Notes")
    for number in range(PAGE_SIZE + 5):
        make_message(chat, content=f"walrus fact number {number}")

    first = search(alice, "walrus", page=1)
    second = search(alice, "walrus", page=2)
    page = alice_client.get(SEARCH, {"q": "walrus", "page": 2}).content.decode()

    assert len(first.hits) == PAGE_SIZE and first.has_next
    assert len(second.hits) == 5 and not second.has_next
    assert {h.message.pk for h in first.hits}.isdisjoint(h.message.pk for h in second.hits)
    assert 'rel="prev"' in page and "page=1" in page


def test_an_htmx_request_gets_only_the_results(alice, alice_client):
    make_message(make_conversation(alice), content="htmx fragment check")

    response = alice_client.get(SEARCH, {"q": "fragment"}, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert page.startswith('<section id="search-results"')
    assert "<html" not in page


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(SEARCH, {"q": "anything"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Keeping the index in step with every way text is written ----------------------------------


def test_an_edited_message_is_found_by_its_new_words_only(alice):
    message = make_message(make_conversation(alice), content="original wording")
    message.content = "replacement phrasing"
    message.save(update_fields=["content"])

    assert found(alice, "original") == []
    assert found(alice, "replacement") == ["replacement phrasing"]


def test_text_written_with_a_queryset_update_is_found(alice):
    """The streaming flush writes with .update(), which sends no signals."""
    message = make_message(make_conversation(alice), role=Message.Role.ASSISTANT, content="")
    Message.objects.filter(pk=message.pk).update(content="partial streamed answer")

    assert found(alice, "streamed") == ["partial streamed answer"]


def test_deleted_messages_and_conversations_leave_the_index(alice):
    chat = make_conversation(alice, title="Doomed chat")
    make_message(chat, content="ephemeral words")
    kept = make_message(make_conversation(alice), content="ephemeral but kept")
    chat.messages.first().delete()

    assert found(alice, "ephemeral") == ["ephemeral but kept"]
    chat.delete()
    kept.conversation.delete()
    assert found(alice, "ephemeral") == [] and found(alice, "doomed") == []


def test_a_renamed_conversation_is_found_by_its_new_title(alice):
    chat = make_conversation(alice, title="Draft name")
    chat.title = "Final zebra name"
    chat.save()

    assert found(alice, "zebra") == ["title: Final zebra name"]
    assert found(alice, "draft") == []


def test_a_lease_renewal_does_not_disturb_the_index(alice):
    message = make_message(make_conversation(alice), content="lease words")
    Message.objects.filter(pk=message.pk).update(lease_owner="someone")

    assert found(alice, "lease") == ["lease words"]


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite triggers only")
def test_the_index_is_repaired_when_a_table_rebuild_dropped_its_triggers(alice):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER conversations_message_fts_insert")
    make_message(make_conversation(alice), content="written while unindexed")
    assert found(alice, "unindexed") == []

    assert search_index.repair(connection) is True

    assert found(alice, "unindexed") == ["written while unindexed"]
    assert search_index.repair(connection) is False


@database_sync_to_async
def alice_and_chat():
    alice = make_user("alice")
    return alice, make_conversation(alice, title="Streaming")


@pytest.mark.django_db(transaction=True)
async def test_a_reply_finished_by_streaming_is_found(ollama):
    ollama.script_chat(["The ", "aurora ", "borealis ", "glows ", "green."])
    alice, chat = await alice_and_chat()
    socket = await open_socket(alice, f"/ws/chat/{chat.id}/")
    assert (await socket.connect())[0]
    await socket.send_to(
        text_data=json.dumps(
            {"action": "send", "message": "Tell me about the sky", "model": "llama3.2:latest"}
        )
    )
    await receive_until(socket, "tokens/s")
    await socket.disconnect()

    hits = (await sync_to_async(search)(alice, "borealis")).hits
    await sync_to_async(connections.close_all)()  # the executor thread's, so teardown can drop

    assert [h.message.content for h in hits] == ["The aurora borealis glows green."]
    assert hits[0].message.state == Message.State.COMPLETE
    assert "borealis" in [text for text, marked in hits[0].snippet if marked]
