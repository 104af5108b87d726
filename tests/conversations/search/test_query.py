"""conversations.search.query: what typed words become (words, phrases, prefixes), and which
messages they find, best first.

Run on PostgreSQL too: DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatsite pytest ...
"""

from __future__ import annotations

from conversations.search.query import Term, parse_query
from tests.factories import make_conversation, make_message


def test_words_are_parsed_into_words_phrases_and_prefixes():
    assert parse_query('Deploy "blue green" roll* x-ray') == [
        Term(("deploy",)),
        Term(("blue", "green")),
        Term(("roll",), prefix=True),
        Term(("x", "ray")),
    ]


def test_a_message_that_uses_the_word_more_ranks_first(alice, found):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="kettle " + "filler words go here " * 20)
    make_message(chat, content="kettle kettle kettle, the kettle boiled")

    assert found(alice, "kettle")[0] == "kettle kettle kettle, the kettle boiled"


def test_a_phrase_only_matches_its_words_in_order(alice, found):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="the green door was open")
    make_message(chat, content="the door was green")

    assert found(alice, '"green door"') == ["the green door was open"]


def test_a_star_finds_words_that_start_with_the_prefix(alice, found):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="deployment went fine")
    make_message(chat, content="we deploy on Fridays")
    make_message(chat, content="nothing relevant")

    assert sorted(found(alice, "deplo*")) == ["deployment went fine", "we deploy on Fridays"]
    assert found(alice, "deplo") == []


def test_every_word_must_match(alice, found):
    chat = make_conversation(alice, title="Notes")
    make_message(chat, content="apples and pears")
    make_message(chat, content="apples only")

    assert found(alice, "apples pears") == ["apples and pears"]
    assert found(alice, "apples pea*") == ["apples and pears"]
    assert found(alice, '"apples and" pea*') == ["apples and pears"]
