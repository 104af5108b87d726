"""The full-text index in the database itself, per vendor, and how to keep it in place.

SQLite: FTS5 tables over message text and conversation titles ("external content": the text is
not stored twice), kept in step by triggers. PostgreSQL: a generated tsvector column with a GIN
index on messages and a GIN expression index on titles. Either way every write path updates the
index, including `.update()` calls during streaming, bulk_create on import, and cascaded deletes,
none of which send Django signals.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

MIGRATION = ("conversations", "0005_search_index")

# unicode61 with diacritics folded: "cafe" finds "café".
_TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"

SQLITE_TABLES = {
    "conversations_message_fts": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS conversations_message_fts USING fts5("
        f"content, content='conversations_message', {_TOKENIZE})"
    ),
    "conversations_title_fts": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS conversations_title_fts USING fts5("
        f"title, content='conversations_conversation', {_TOKENIZE})"
    ),
}


def _sqlite_triggers(fts: str, table: str, column: str) -> dict[str, str]:
    """Insert, delete and update triggers for one external-content FTS5 table.

    An external-content index must be told the old text to forget it, so the delete and update
    triggers pass old.<column>; the update trigger only fires when that column changes, so
    lease renewals during streaming do not touch the index.
    """
    forget = (
        f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.rowid, old.{column});"
    )
    learn = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.rowid, new.{column});"
    return {
        f"{fts}_insert": (
            f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {learn} END"
        ),
        f"{fts}_delete": (
            f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {forget} END"
        ),
        f"{fts}_update": (
            f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column} ON {table} "
            f"BEGIN {forget} {learn} END"
        ),
    }


SQLITE_TRIGGERS = {
    **_sqlite_triggers("conversations_message_fts", "conversations_message", "content"),
    **_sqlite_triggers("conversations_title_fts", "conversations_conversation", "title"),
}
SQLITE_REBUILD = [f"INSERT INTO {table}({table}) VALUES ('rebuild')" for table in SQLITE_TABLES]

# The tsvector limit is 1 MB; the first 250,000 characters of a message stay far below it
# whatever the text, so no insert can fail on an enormous message.
POSTGRES_INDEXED_CHARS = 250_000
POSTGRES_CREATE = [
    "ALTER TABLE conversations_message ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, "
    f"left(content, {POSTGRES_INDEXED_CHARS}))) STORED",
    "CREATE INDEX IF NOT EXISTS conversations_message_search ON conversations_message "
    "USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS conversations_conversation_title_search "
    "ON conversations_conversation USING gin (to_tsvector('simple'::regconfig, title))",
    # Lets a very common word's most recent matches be read newest first and the scan stop
    # early (search.CANDIDATES), instead of testing every message's tsvector.
    "CREATE INDEX IF NOT EXISTS conversations_message_recent ON conversations_message (created_at)",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS conversations_message_recent",
    "DROP INDEX IF EXISTS conversations_conversation_title_search",
    "DROP INDEX IF EXISTS conversations_message_search",
    "ALTER TABLE conversations_message DROP COLUMN IF EXISTS search_vector",
]


def create(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for sql in [*SQLITE_TABLES.values(), *SQLITE_TRIGGERS.values(), *SQLITE_REBUILD]:
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            for sql in POSTGRES_CREATE:
                cursor.execute(sql)
        else:
            raise NotImplementedError(f"No full-text search for {connection.vendor}")


def drop(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            for name in SQLITE_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
        elif connection.vendor == "postgresql":
            for sql in POSTGRES_DROP:
                cursor.execute(sql)


def missing_parts(connection: BaseDatabaseWrapper) -> set[str]:
    """Names of index tables or triggers that should exist and do not (SQLite only).

    Django rebuilds an SQLite table for many schema changes (copy, drop, rename), which drops
    its triggers and renumbers its rows; a later migration on Message or Conversation would
    silently stop the index from following the text without this check.
    """
    if connection.vendor != "sqlite":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
    return (set(SQLITE_TABLES) | set(SQLITE_TRIGGERS)) - present


def repair(connection: BaseDatabaseWrapper) -> bool:
    """Recreate whatever is missing and rebuild the index from the text; True if it had to."""
    if not missing_parts(connection):
        return False
    create(connection)
    return True


def create_for_migration(apps: Any, schema_editor: Any) -> None:
    create(schema_editor.connection)


def drop_for_migration(apps: Any, schema_editor: Any) -> None:
    drop(schema_editor.connection)


def repair_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: put the index back if a table rebuild took its triggers away."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    if MIGRATION in MigrationRecorder(connection).applied_migrations():
        repair(connection)
