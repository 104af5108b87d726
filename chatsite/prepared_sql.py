"""Statements built by the ORM once per database and run again with new values.

The API gateway admits each request with a handful of short statements; building them with the
ORM on every request cost several times more than running them (bench/notes.md). A
`PreparedQuery` calls its builder once with stand-in values, keeps the SQL, and finds where each
stand-in landed among the parameters; later calls put the real values in those places. The
querysets stay the single definition of what is asked (ownership, live leases, ...).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.sql import UpdateQuery

# Stand-ins no real parameter equals: values far outside what the site stores.
_SAMPLES: dict[type, Callable[[int], Any]] = {
    int: lambda n: -7_919_000_000 - n,
    str: lambda n: f"\x00prepared-sample-{n}\x00",
    dt.datetime: lambda n: dt.datetime(1901, 2, 3, 4, 5, 6, 1000 + n, tzinfo=dt.UTC),
}

_TIME_TEXT = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d")

Built = QuerySet[Any] | tuple[str, Sequence[Any]]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # For each parameter: the name of a value, or None with a constant.
    slots: tuple[tuple[str | None, Any], ...]
    # How each value becomes a parameter on this database.
    adapters: dict[str, Callable[[Any], Any]]


class PreparedQuery:
    """`build(**values)` returns a queryset (or SQL and its parameters); `types` names the type
    of each value (int, str or datetime). Run with `rows()` or `execute()`, on Django's
    connection or on a cursor of another connection to the same database
    (chatsite/loop_sqlite.py)."""

    def __init__(self, build: Callable[..., Built], **types: type) -> None:
        self._build = build
        self._types = types
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Compiled:
        connection = connections[alias]
        samples = {name: _SAMPLES[kind](n) for n, (name, kind) in enumerate(self._types.items())}
        adapters = {name: self._adapter(connection, kind) for name, kind in self._types.items()}
        adapted = {name: adapters[name](value) for name, value in samples.items()}
        built = self._build(**samples)
        if isinstance(built, QuerySet):
            sql, params = built.query.get_compiler(using=alias).as_sql()
        else:
            sql, params = built
        slots: list[tuple[str | None, Any]] = []
        found: set[str] = set()
        for param in params:
            name = next(
                (n for n in samples if param == samples[n] or param == adapted[n]),
                None,
            )
            if name is None and _looks_like_a_time(param):
                # A time the builder took from the clock would be frozen into every later run.
                raise ValueError(f"the statement has a time that is not one of its values: {param}")
            slots.append((name, param))
            if name:
                found.add(name)
        if missing := set(samples) - found:
            raise ValueError(f"the statement does not use {sorted(missing)}")
        return _Compiled(sql, tuple(slots), adapters)

    @staticmethod
    def _adapter(connection: Any, kind: type) -> Callable[[Any], Any]:
        # The connection's operations are kept, not looked up per run (a connection object
        # per thread or task): adapting a value reads settings, never the connection itself.
        if kind is dt.datetime:
            return connection.ops.adapt_datetimefield_value
        return _unchanged

    def statement(self, alias: str = "default", **values: Any) -> tuple[str, list[Any]]:
        compiled = self._compiled.get(alias)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(alias) or self._compile(alias)
                self._compiled[alias] = compiled
        adapters = compiled.adapters
        adapted = {name: adapters[name](value) for name, value in values.items()}
        params = [constant if name is None else adapted[name] for name, constant in compiled.slots]
        return compiled.sql, params

    def rows(
        self, alias: str = "default", *, cursor: Any = None, **values: Any
    ) -> list[tuple[Any, ...]]:
        sql, params = self.statement(alias, **values)
        with _cursor(alias, cursor) as running:
            running.execute(sql, params)
            return list(running.fetchall())

    def execute(self, alias: str = "default", *, cursor: Any = None, **values: Any) -> int:
        """Run a statement that returns no rows (an UPDATE); the number of rows it changed."""
        sql, params = self.statement(alias, **values)
        with _cursor(alias, cursor) as running:
            running.execute(sql, params)
            return int(running.rowcount)


@contextlib.contextmanager
def _cursor(alias: str, given: Any) -> Iterator[Any]:
    """`given`, or a new cursor of Django's connection for `alias`."""
    if given is not None:
        yield given
        return
    with connections[alias].cursor() as cursor:
        yield cursor


def _unchanged(value: Any) -> Any:
    return value


def update_statement(queryset: QuerySet[Any], **values: Any) -> tuple[str, list[Any]]:
    """The UPDATE that `queryset.update(**values)` runs, as SQL and parameters (a
    `PreparedQuery` builder may return it)."""
    query = queryset.query.chain(UpdateQuery)
    assert isinstance(query, UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(queryset.db).as_sql()
    return sql, list(params)


def _looks_like_a_time(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    return isinstance(value, str) and bool(_TIME_TEXT.match(value))


@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: list[Any]
    returning: bool  # the statement returns the new primary key
    # Kept like a PreparedQuery's operations: preparing values reads settings, not the socket.
    connection: Any


_inserts: dict[tuple[type[Model], str], _Insert] = {}


def _insert(model: type[Model], alias: str) -> _Insert:
    insert = _inserts.get((model, alias))
    if insert is None:
        connection = connections[alias]
        quote = connection.ops.quote_name
        pk = model._meta.pk
        assert pk is not None
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"
        returning = connection.features.can_return_columns_from_insert
        if returning:
            sql += f" RETURNING {quote(pk.column)}"
        insert = _inserts[(model, alias)] = _Insert(sql, fields, returning, connection)
    return insert


def insert_row(instance: Model, alias: str = "default", *, cursor: Any = None) -> Any:
    """Store a new row with one INSERT whose SQL is built once per model and database, and
    return its primary key (set on `instance` too). Field defaults apply as in `save()`;
    signals are not sent (the gateway's rows have no receivers). `cursor`: as for
    `PreparedQuery.rows()`."""
    model = type(instance)
    insert = _insert(model, alias)
    connection = insert.connection
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in insert.fields]
    with _cursor(alias, cursor) as running:
        running.execute(insert.sql, values)
        if insert.returning:
            row = running.fetchone()
            assert row is not None
            new_pk = row[0]
        else:
            new_pk = connection.ops.last_insert_id(running, model._meta.db_table, "id")
    instance.pk = new_pk
    instance._state.adding = False
    instance._state.db = alias
    return new_pk
