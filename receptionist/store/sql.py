"""The small dialect layer every query of the call log is written against, once.

A query is written with `?` (or `:name`) placeholders in the SQL both engines share;
`Db` runs it on SQLite (sqlite3) or PostgreSQL (psycopg 3, the `postgres` extra) and
returns rows as dicts. What differs between the two is named here and nowhere else:
placeholders, how a time is stored (UTC ISO text / timestamptz), full-text search
(FTS5 / tsvector), string aggregation and JSON field access. A driver error becomes a
`StoreError`; a write a constraint refused, a `Conflict`.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

Params = Sequence[Any] | dict[str, Any]
Row = dict[str, Any]


class StoreError(sqlite3.Error):
    """The call log could not be read or written (disk full, locked, server gone...).

    An sqlite3.Error, so callers that catch that still do, on either engine.
    """


class Conflict(StoreError):
    """A write the schema refused: a unique index (a booking slot already held), or a
    check such as the outcomes' list of names."""


@dataclass(frozen=True)
class Dialect:
    name: Literal["sqlite", "postgresql"]
    # `group_concat(x)` in SQLite; `string_agg(x, ',')` in PostgreSQL.
    concat: str
    # A text column holding JSON, one key read out of it: `{doc}` and `{key}` filled in.
    json_text: str
    # After a SELECT of rows to claim: lets several workers claim at once, each skipping
    # rows another is taking (PostgreSQL); SQLite's single writer needs nothing.
    skip_locked: str

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def time(self, moment: datetime | None) -> Any:
        """A time as stored: UTC ISO 8601 text in SQLite (so text order is time order),
        an aware datetime for PostgreSQL's timestamptz. A naive time is this machine's."""
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.astimezone()
        moment = moment.astimezone(UTC)
        return moment if self.postgres else moment.isoformat(timespec="milliseconds")

    def now(self) -> Any:
        return self.time(datetime.now(UTC))

    def search(self, table: str, key: str, text: str | None) -> tuple[str, Any] | None:
        """A condition (one `?`) and its parameter: rows of `table` whose full-text
        columns match every word of `text`, `key` naming the row's id in the query.
        None when `text` has nothing searchable; caller text is never query syntax."""
        if self.postgres:
            words = " ".join(w for w in (text or "").split() if any(c.isalnum() for c in w))
            if not words:
                return None
            # The table's stored tsvector; websearch_to_tsquery never raises on input.
            column = key.rsplit(".", 1)[0] + ".search" if "." in key else "search"
            return f"{column} @@ websearch_to_tsquery('english', ?)", words
        query = fts_query(text)
        if query is None:
            return None
        return f"{key} IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ?)", query

    def json_field(self, doc: str, key: str) -> str:
        if not re.fullmatch(r"[a-z_]+", key):
            raise ValueError(f"not a JSON key this layer reads: {key!r}")
        return self.json_text.format(doc=doc, key=key)


SQLITE = Dialect("sqlite", "group_concat({})", "json_extract({doc}, '$.{key}')", "")
POSTGRES = Dialect(
    "postgresql",
    "string_agg({}::text, ',')",
    "({doc}::jsonb ->> '{key}')",
    " FOR UPDATE SKIP LOCKED",
)


def as_text(value: Any) -> Any:
    """A stored time as SQLite's text (UTC ISO 8601, milliseconds) whichever engine read
    it, for documents that leave the call log (notifications); other values unchanged."""
    return SQLITE.time(value) if isinstance(value, datetime) else value


def as_time(value: Any) -> datetime | None:
    """A stored time as an aware datetime whichever engine read it."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def fts_query(text: str | None) -> str | None:
    """An FTS5 query matching every word of `text` as typed, never FTS5 syntax.

    Each word becomes a quoted phrase (quotes inside doubled), so `"`, `AND`, `NEAR(` or
    `-x` are searched for, not parsed. Words with no letter or digit are dropped: the
    tokenizer would drop them too. None when nothing searchable is left.
    """
    words = [w for w in (text or "").split() if any(c.isalnum() for c in w)]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words) or None


_TOKENS = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)|%")


@functools.lru_cache(maxsize=512)
def pyformat(sql: str) -> str:
    """`?` and `:name` placeholders as psycopg's `%s` and `%(name)s`, every literal `%`
    doubled (psycopg reads them inside quotes too); a `?` or `:x` inside a string literal,
    and `::type` casts, are left alone."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token.replace("%", "%%")
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _TOKENS.sub(swap, sql)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...


class Db(Protocol):
    """One connection to the call log, used from one thread."""

    dialect: Dialect

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        """Run one statement (committed at once unless inside `transaction()`)."""
        ...

    def query(self, sql: str, params: Params = ()) -> list[Row]: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Everything inside commits together or not at all."""
        ...

    def close(self) -> None: ...

    # Upkeep, for retention sweeps: what each engine offers to forget data for good.

    def table_names(self) -> set[str]: ...

    def row_bytes(self, table: str) -> str:
        """An SQL expression for the bytes a row of `table` takes (near enough)."""
        ...

    def size_bytes(self) -> int:
        """The database's size on disk (0 for an in-memory one)."""
        ...

    def zero_on_delete(self) -> None:
        """Deleted rows' bytes are overwritten, where the engine can (SQLite)."""
        ...

    def reclaim(self, tables: Sequence[str]) -> None:
        """After deleting from `tables`: drop their full-text entries and give the freed
        space back as far as the engine allows."""
        ...


def where(conditions: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """`WHERE a AND b` from {sql: parameter}, leaving out conditions whose parameter is
    None; a list parameter fills several placeholders (an IN clause)."""
    kept = {sql: value for sql, value in conditions.items() if value is not None}
    params: list[Any] = []
    for value in kept.values():
        params.extend(value if isinstance(value, list) else [value])
    return ("WHERE " + " AND ".join(kept) if kept else ""), params


def among(column: str, values: Sequence[str] | None) -> dict[str, Any]:
    """A condition limiting rows to `values` of `column` (None: no limit; empty: none)."""
    if values is None:
        return {}
    marks = ",".join("?" * len(values)) or "NULL"
    return {f"{column} IN ({marks})": list(values)}


def insert(db: Db, table: str, row: Mapping[str, Any], *, ignore: bool = False) -> int | None:
    """Insert `row` (column names from this package only, values as parameters); its `id`,
    or None when the table has none or `ignore` skipped a row whose key exists."""
    names = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join("?" * len(row))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    if ignore:
        sql += " ON CONFLICT DO NOTHING"
    if table in _NO_ID:
        db.execute(sql, list(row.values()))
        return None
    rows = db.query(sql + " RETURNING id", list(row.values()))
    return int(rows[0]["id"]) if rows else None


_NO_ID = frozenset({"calls", "outcomes", "sessions"})  # keyed by text, or by two columns


@contextlib.contextmanager
def translated(what: str) -> Iterator[None]:
    """Driver errors as StoreError (and Conflict), whichever driver raised them."""
    try:
        yield
    except StoreError:
        raise
    except sqlite3.IntegrityError as error:
        raise Conflict(f"{what}: {error}") from error
    except sqlite3.Error as error:
        raise StoreError(f"{what}: {error}") from error
