"""Full-text search index: FTS5 tables and triggers on SQLite, a tsvector column and GIN indexes
on PostgreSQL. The statements live in conversations/search_index.py, which also repairs the
index after migrate if a later table rebuild on SQLite dropped its triggers."""

from django.db import migrations

from conversations.search import index as search_index


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0004_history_index"),
    ]

    operations = [
        migrations.RunPython(
            search_index.create_for_migration, search_index.drop_for_migration, elidable=False
        ),
    ]
