"""The store is written once for both engines: nothing outside the store package imports
an engine's module (store/sqlite.py, store/pg/ other than the URL setting) or a driver
(sqlite3 only for the error type both engines raise, sqlite_utils, psycopg); the SQL
layer's placeholders never touch a string literal."""

from __future__ import annotations

import ast

from receptionist.store.sql import POSTGRES, SQLITE, pyformat
from tests.unit.test_import_graph import PACKAGE, import_graph, modules

ENGINE_MODULES = ("receptionist.store.sqlite", "receptionist.store.pg")
# The `database` setting parses a postgresql:// URL whichever engine runs (no driver).
ALLOWED = {"receptionist.store.pg.url"}
DRIVERS = ("sqlite_utils", "psycopg")


def test_nothing_outside_the_store_imports_an_engine() -> None:
    graph = import_graph(PACKAGE, "receptionist")
    outside = {m: deps for m, deps in graph.items() if not m.startswith("receptionist.store")}
    engine = {
        module: sorted(d for d in deps if d.startswith(ENGINE_MODULES) and d not in ALLOWED)
        for module, deps in outside.items()
    }
    assert {module: deps for module, deps in engine.items() if deps} == {}


def test_nothing_outside_the_store_imports_a_database_driver() -> None:
    found = {}
    for module, path in modules(PACKAGE, "receptionist").items():
        if module.startswith("receptionist.store"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            drivers = [n for n in names if n.split(".")[0] in DRIVERS]
            if drivers:
                found[module] = drivers
    assert found == {}


def test_placeholders_become_psycopg_ones_outside_string_literals() -> None:
    sql = "SELECT x::text, '?:a%' FROM t WHERE a = ? AND b = :name AND c LIKE 'x%'"
    assert pyformat(sql) == (
        "SELECT x::text, '?:a%%' FROM t WHERE a = %s AND b = %(name)s AND c LIKE 'x%%'"
    )
    assert SQLITE.search("turns", "t.id", "  ...  ") is None
    condition, term = POSTGRES.search("messages", "m.id", 'bill "NEAR( -x ...')  # type: ignore[misc]
    assert condition.startswith("m.search @@ websearch_to_tsquery") and term == 'bill "NEAR( -x'
