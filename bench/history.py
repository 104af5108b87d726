"""History list and search timings for a heavy user: 10,000 conversations, 200,000 messages.

Seeds a fresh database (a temporary SQLite file; also a fresh PostgreSQL database beside the one
DATABASE_URL names, when it is set), then prints p50/p95 of the history list query and of
searches for a common word, a rare word, a phrase and a prefix. Never touches var/.

    python -m bench.history [--conversations 10000] [--messages 200000] [--runs 25]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
# Words the searches look for, planted at known rates among generated filler words.
COMMON, RARE, PHRASE, PREFIX = "data", "zeppelin", '"machine learning"', "deploy*"
QUERIES = [("common word", COMMON), ("rare word", RARE), ("phrase", PHRASE), ("prefix", PREFIX)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        run_backend(args)
        return
    sizes = ["--conversations", str(args.conversations), "--messages", str(args.messages)]
    with tempfile.TemporaryDirectory(prefix="chatsite-bench-") as scratch:
        env = {
            **os.environ,
            "DATA_DIR": scratch,
            "DJANGO_SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
        }
        backends = [("sqlite", {"DATABASE_URL": f"sqlite:///{scratch}/bench.sqlite3"})]
        if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            backends.append(("postgres", {"DATABASE_URL": bench_database_url()}))
        for backend, extra in backends:
            command = [sys.executable, "-m", "bench.history", "--backend", backend, *sizes]
            command += ["--runs", str(args.runs)]
            subprocess.run(command, cwd=ROOT, env={**env, **extra}, check=True)


def bench_database_url() -> str:
    """The server DATABASE_URL names, with a database of its own: <name>_bench."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path=f"{url.path.rstrip('/') or '/chatsite'}_bench"))


def recreate_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def run_backend(args: argparse.Namespace) -> None:
    if args.backend == "postgres":
        recreate_postgres_database(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    heavy = seed(args.conversations, args.messages)
    seeded = time.perf_counter() - started
    print(
        f"\n{args.backend}: seeded {args.conversations:,} conversations / {args.messages:,} "
        f"messages for one user (plus a tenth as much for another) in {seeded:.1f} s"
    )
    rows = [("history list: first 50 + counts", lambda: history_page(heavy))]
    for label, query in QUERIES:
        rows.append((f"search {label}: {query}", lambda q=query: search_page(heavy, q)))
    print(f"{'query':<42} {'p50 ms':>8} {'p95 ms':>8}  first page")
    for label, run in rows:
        timings, shown = measure(run, args.runs)
        print(f"{label:<42} {timings[0]:>8.1f} {timings[1]:>8.1f}  {shown}")
    if args.backend == "postgres":
        from django.db import connections

        connections.close_all()
        drop_postgres_database(os.environ["DATABASE_URL"])


def drop_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')


def measure(run, runs: int) -> tuple[tuple[float, float], str]:
    shown = run()  # warm-up, and what a person would see
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(samples, n=20)
    return (statistics.median(samples), cuts[18]), shown


def history_page(user) -> str:
    """The history list's first page: the other helper's queryset methods when present."""
    from conversations.models import Conversation, Message

    owned = Conversation.objects.for_user(user).filter(archived=False)
    if hasattr(owned, "pinned_first"):
        owned = owned.pinned_first()
    else:
        owned = owned.order_by("-pinned", "-updated_at", "-id")
    page = list(owned.only("id", "title", "pinned", "updated_at")[:50])
    ids = [c.pk for c in page]
    messages = Message.objects.for_user(user)
    if hasattr(messages, "counts_for"):
        counts = messages.counts_for(ids)
    else:
        from django.db.models import Count

        rows = messages.filter(conversation_id__in=ids).values_list("conversation_id")
        counts = dict(rows.order_by().annotate(n=Count("id")))
    return f"{len(page)} conversations, {sum(counts.values())} messages"


def search_page(user, query: str) -> str:
    from conversations.search.query import search

    page = search(user, query)
    return f"{len(page.hits)} hits{', more' if page.has_next else ''}"


def seed(conversations: int, messages: int):
    """bulk_create in large batches; the index follows through its triggers/generated column."""
    from django.db import connection, transaction

    from chatsite.accounts.models import User
    from conversations.models import Conversation, Message
    from conversations.search import index as search_index

    rng = random.Random(5)
    filler = [make_word(rng) for _ in range(4000)]
    # Zipf-like: a few filler words are everywhere, most are rare. Cumulative weights once,
    # or random.choices would add them up again on every call.
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(filler))))
    # Like a restore: triggers off while bulk-loading, then one rebuild of the index.
    for name in search_index.SQLITE_TRIGGERS if connection.vendor == "sqlite" else []:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER {name}")
    heavy = User.objects.create_user("heavy", password="x", is_approved=True)
    other = User.objects.create_user("other", password="x", is_approved=True)
    for owner, n_conv, n_msg in (
        (heavy, conversations, messages),
        (other, conversations // 10, messages // 10),
    ):
        with transaction.atomic():
            chats = Conversation.objects.bulk_create(
                [
                    Conversation(
                        owner=owner,
                        title=" ".join(
                            rng.choices(filler, cum_weights=weights, k=rng.randint(2, 6))
                        ),
                        model="llama3.2:latest",
                        pinned=rng.random() < 0.01,
                        archived=rng.random() < 0.1,
                    )
                    for _ in range(n_conv)
                ],
                batch_size=1000,
            )
            batch = []
            for number in range(n_msg):
                role = Message.Role.USER if number % 2 == 0 else Message.Role.ASSISTANT
                text = message_text(rng, filler, weights)
                batch.append(Message(conversation=chats[number % n_conv], role=role, content=text))
                if len(batch) == 5000:
                    Message.objects.bulk_create(batch)
                    batch = []
            Message.objects.bulk_create(batch)
    search_index.repair(connection)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return heavy


def make_word(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 10)))


def message_text(rng: random.Random, filler: list[str], weights: list[float]) -> str:
    words = rng.choices(filler, cum_weights=weights, k=rng.randint(15, 80))
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words)), COMMON)
    if rng.random() < 0.0001:
        words.insert(rng.randrange(len(words)), RARE)
    if rng.random() < 0.02:
        words.insert(rng.randrange(len(words)), "machine learning")
    if rng.random() < 0.03:
        words.insert(rng.randrange(len(words)), rng.choice(["deploy", "deployed", "deployment"]))
    return " ".join(words)


if __name__ == "__main__":
    main()
