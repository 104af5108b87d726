"""Full-text search over a user's conversations (SQLite FTS5 or PostgreSQL) and its index."""
