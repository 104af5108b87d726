"""Search over one user's conversation titles and message text, with highlighted snippets.

The index is the database's own (see search_index.py): FTS5 with bm25 on SQLite, tsvector with
ts_rank on PostgreSQL. What a person types never reaches either query language as syntax: it is
cut into words, "quoted phrases" and prefix* terms, and rebuilt from those.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.db import connection

from chatsite.accounts.models import User
from conversations.models import Conversation, Message

PAGE_SIZE = 20
MAX_QUERY_CHARS = 200
MAX_TERMS = 12
# A title hit counts for more than a message hit with the same score.
TITLE_BOOST = 2.0
# Scoring every match of a word found in half of 200,000 messages takes longer than a search
# may (bm25 alone ~200 ms on SQLite; testing every tsvector ~250 ms on PostgreSQL), so only
# the most recently written CANDIDATES matches of each kind are ranked: exact for any query
# with fewer matches, the best of the recent ones for very common words.
CANDIDATES = 1000
# Highlight markers put into snippets by the database, turned into <mark> by the template after
# escaping; control characters, so no ordinary text can pass for one.
START, STOP = "\x02", "\x03"
_WORD = re.compile(r"[^\W_]+")
_PHRASE_OR_WORD = re.compile(r'"([^"]*)"?|(\S+)')
_MARKED = re.compile(f"{START}(.*?){STOP}", re.DOTALL)


@dataclass(frozen=True)
class Term:
    """One condition every hit must meet: a word, or words next to each other."""

    words: tuple[str, ...]
    prefix: bool = False  # the last word may be the start of a longer word


def parse_query(text: str) -> list[Term]:
    """Words, "quoted phrases" and word* prefixes; punctuation never becomes syntax."""
    terms = []
    for phrase, word in _PHRASE_OR_WORD.findall(text[:MAX_QUERY_CHARS]):
        words = tuple(w.lower() for w in _WORD.findall(phrase or word))
        if words:
            terms.append(Term(words, prefix=bool(word) and word.endswith("*")))
    return terms[:MAX_TERMS]


def fts5_query(terms: list[Term]) -> str:
    """FTS5 MATCH text: each term a quoted phrase (words hold no quotes), prefixes starred."""
    return " ".join('"' + " ".join(t.words) + '"' + ("*" if t.prefix else "") for t in terms)


def postgres_query(terms: list[Term]) -> tuple[str, list[str]]:
    """A tsquery expression and its parameters.

    Whole words and phrases go through websearch_to_tsquery, each quoted so that words like
    "or" are searched for rather than read as operators; prefixes need to_tsquery's :*, built
    from bare words that hold no tsquery syntax.
    """
    parts, params = [], []
    plain = [t for t in terms if not t.prefix]
    if plain:
        parts.append("websearch_to_tsquery('simple', %s)")
        params.append(" ".join('"' + " ".join(t.words) + '"' for t in plain))
    for term in (t for t in terms if t.prefix):
        parts.append("to_tsquery('simple', %s)")
        params.append(" <-> ".join(f"'{w}'" for w in term.words) + ":*")
    return "(" + " && ".join(parts) + ")", params


@dataclass(frozen=True)
class Hit:
    conversation: Conversation
    message: Message | None  # None for a title hit
    snippet: tuple[tuple[str, bool], ...]  # (text, highlighted) pieces

    @property
    def url(self) -> str:
        url = self.conversation.get_absolute_url()
        return f"{url}#message-{self.message.pk}" if self.message else url


@dataclass(frozen=True)
class SearchPage:
    query: str
    number: int
    hits: list[Hit]
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1


def search(user: User, query: str, page: int = 1) -> SearchPage:
    """One page of the user's hits, best first; blocking (call through sync_to_async)."""
    page = max(1, page)
    terms = parse_query(query)
    if not terms:
        return SearchPage(query, page, [], False)
    owned_sql, owned_params = (
        Conversation.objects.for_user(user).order_by().values("pk").query.sql_with_params()
    )
    backend = _SQLITE if connection.vendor == "sqlite" else _POSTGRES
    rows = backend.ranked(
        terms, owned_sql, list(owned_params), PAGE_SIZE + 1, (page - 1) * PAGE_SIZE
    )
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    snippets = backend.snippets(terms, rows)
    return SearchPage(query, page, _hits(user, rows, snippets), has_next)


def _hits(
    user: User, rows: list[tuple[int, str]], snippets: dict[tuple[int, str], str]
) -> list[Hit]:
    """Load the page's rows through the owner's querysets, in rank order."""
    message_ids = [pk for kind, pk in rows if kind == 1]
    messages = {
        str(m.pk).replace("-", ""): m
        for m in Message.objects.for_user(user)
        .filter(pk__in=[uuid.UUID(pk) for pk in message_ids])
        .select_related("conversation")
    }
    conversation_ids = [pk for kind, pk in rows if kind == 0]
    conversations = {
        str(c.pk).replace("-", ""): c
        for c in Conversation.objects.for_user(user).filter(
            pk__in=[uuid.UUID(pk) for pk in conversation_ids]
        )
    }
    hits = []
    for kind, pk in rows:
        key = str(pk).replace("-", "")
        pieces = highlighted(snippets.get((kind, pk), ""))
        if kind == 0 and key in conversations:
            hits.append(Hit(conversations[key], None, pieces))
        elif kind == 1 and key in messages:
            hits.append(Hit(messages[key].conversation, messages[key], pieces))
    return hits


def highlighted(snippet: str) -> tuple[tuple[str, bool], ...]:
    """Split database snippet text at its markers; the template escapes every piece."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _MARKED.finditer(snippet):
        pieces.append((snippet[position : match.start()], False))
        pieces.append((match.group(1), True))
        position = match.end()
    pieces.append((snippet[position:], False))
    cleaned = ((text.replace(START, "").replace(STOP, ""), hit) for text, hit in pieces)
    return tuple((text, hit) for text, hit in cleaned if text)


class _Sqlite:
    """FTS5: bm25 (lower is better) to rank; snippet() and highlight() for the page only."""

    def ranked(
        self, terms: list[Term], owned: str, owned_params: list, limit: int, offset: int
    ) -> list[tuple[int, str]]:
        match = fts5_query(terms)
        sql = f"""
            SELECT kind, id FROM (
                SELECT * FROM (
                    SELECT 0 AS kind, c.id AS id,
                           bm25(conversations_title_fts) * {TITLE_BOOST} AS score
                    FROM conversations_title_fts
                    JOIN conversations_conversation c ON c.rowid = conversations_title_fts.rowid
                    WHERE conversations_title_fts MATCH %s AND c.id IN ({owned})
                    ORDER BY conversations_title_fts.rowid DESC LIMIT {CANDIDATES}
                )
                UNION ALL
                SELECT * FROM (
                    SELECT 1 AS kind, m.id AS id, bm25(conversations_message_fts) AS score
                    FROM conversations_message_fts
                    JOIN conversations_message m ON m.rowid = conversations_message_fts.rowid
                    WHERE conversations_message_fts MATCH %s AND m.conversation_id IN ({owned})
                    ORDER BY conversations_message_fts.rowid DESC LIMIT {CANDIDATES}
                )
            ) ORDER BY score, kind, id LIMIT %s OFFSET %s
        """
        params = [match, *owned_params, match, *owned_params, limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(kind, pk) for kind, pk in cursor.fetchall()]

    def snippets(self, terms: list[Term], rows: list[tuple[int, str]]) -> dict:
        match = fts5_query(terms)
        found: dict[tuple[int, str], str] = {}
        queries = [
            (0, "conversations_title_fts", "conversations_conversation",
             f"highlight(conversations_title_fts, 0, '{START}', '{STOP}')"),
            (1, "conversations_message_fts", "conversations_message",
             f"snippet(conversations_message_fts, 0, '{START}', '{STOP}', '…', 24)"),
        ]  # fmt: skip
        for kind, fts, table, expression in queries:
            ids = [pk for k, pk in rows if k == kind]
            if not ids:
                continue
            marks = ", ".join(["%s"] * len(ids))
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT rowid, id FROM {table} WHERE id IN ({marks})", ids)
                rowids = dict(cursor.fetchall())
                # Rowid lookups keep FTS5 from walking every match of a common word.
                sql = (
                    f"SELECT rowid, {expression} FROM {fts} "
                    f"WHERE {fts} MATCH %s AND rowid IN ({', '.join(['%s'] * len(rowids))})"
                )
                cursor.execute(sql, [match, *rowids])
                found.update(((kind, rowids[rowid]), text) for rowid, text in cursor.fetchall())
        return found


class _Postgres:
    """tsvector: ts_rank (higher is better) to rank; ts_headline for the page only."""

    # One passage around the best cover of the query (fragment mode drops the start of short
    # messages), about as long as FTS5's snippet.
    HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=15"

    def ranked(
        self, terms: list[Term], owned: str, owned_params: list, limit: int, offset: int
    ) -> list[tuple[int, str]]:
        # The tsquery is written out at each use rather than shared through a CTE, so the
        # planner sees the words: it walks messages newest first for a very common word and
        # uses the GIN index for a rare one.
        tsquery, qp = postgres_query(terms)
        title_vector = "to_tsvector('simple'::regconfig, {}.title)"
        sql = f"""
            SELECT kind, id FROM (
                SELECT 0 AS kind, c.id AS id,
                       ts_rank({title_vector.format("c")}, {tsquery}) * {TITLE_BOOST} AS score
                FROM conversations_conversation c WHERE c.id IN (
                    SELECT t.id FROM conversations_conversation t
                    WHERE {title_vector.format("t")} @@ {tsquery} AND t.id IN ({owned})
                    ORDER BY t.updated_at DESC LIMIT {CANDIDATES}
                )
                UNION ALL
                -- Scored after the cut: ts_rank reads each tsvector, the costly part.
                SELECT 1, m.id, ts_rank(m.search_vector, {tsquery})
                FROM conversations_message m WHERE m.id IN (
                    SELECT r.id FROM conversations_message r
                    WHERE r.search_vector @@ {tsquery} AND r.conversation_id IN ({owned})
                    ORDER BY r.created_at DESC LIMIT {CANDIDATES}
                )
            ) hits ORDER BY score DESC, kind, id LIMIT %s OFFSET %s
        """
        params = [*qp, *qp, *owned_params, *qp, *qp, *owned_params, limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(kind, pk.hex) for kind, pk in cursor.fetchall()]

    def snippets(self, terms: list[Term], rows: list[tuple[int, str]]) -> dict:
        tsquery, query_params = postgres_query(terms)
        found: dict[tuple[int, str], str] = {}
        for kind, table, column, options in (
            (0, "conversations_conversation", "title", f"HighlightAll=true, {self.HEADLINE}"),
            (1, "conversations_message", "content", self.HEADLINE),
        ):
            ids = [uuid.UUID(pk) for k, pk in rows if k == kind]
            if not ids:
                continue
            sql = (
                f"SELECT t.id, ts_headline('simple'::regconfig, t.{column}, {tsquery}, %s) "
                f"FROM {table} t WHERE t.id = ANY(%s)"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*query_params, options, ids])
                found.update(((kind, pk.hex), text) for pk, text in cursor.fetchall())
        return found


_SQLITE = _Sqlite()
_POSTGRES = _Postgres()
