"""A bulk load's secondary indexes built once at its end instead of row by row (SQLite).

Inserting a row puts its key into every index of the table, each at its own place in a B-tree: for the drawdown
table's seven indexes, seven walks through pages that a large load visits in no useful order. `CREATE INDEX`
instead sorts the keys once and writes the tree bottom up. Measured on the 98,962 drawdowns of the 100k benchmark
file, eight imports each way alternating in one process (measured 2026-12-04; the details are in git history): the import's
inserts took 0.99-1.29 s with every index in place, 0.69-0.88 s without the four its lookups do not probe, plus
0.16-0.28 s to build those four at the end: ~0.1-0.15 s (3-4 %) off the import. At a million rows the build
(four sorts of a million keys) takes most of it back: inserts 15.2 s against 10.8 s plus a 3.7 s build, and in a
slower spell 20.0 s against 16.2 s plus 4.0 s.

It pays only when the load is large next to what the table already holds, because the build reads the whole
table, old rows included; when to use it is the caller's decision (the importer: a large file into a table that
holds fewer rows than the file).

SQLite only. Its DDL is transactional: indexes dropped in the caller's transaction come back with a rollback (a
rejected row, a dry run, an error), and readers on other connections keep their snapshot, indexes and all, until
the commit. On PostgreSQL `DROP INDEX` would hold an ACCESS EXCLUSIVE lock on the table until the commit, so every
reader of the shared ledger would wait for the import; its COPY meets its goal with the indexes in place.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection


class DeferredIndexes:
    """Indexes of one table dropped in the caller's transaction, each to be created again from its own SQL text:
    some early (`build(names)`, when the load starts to need them), the rest by `build()` at its end."""

    def __init__(self, conn: Connection, pending: dict[str, str]) -> None:
        self._conn = conn
        self.pending = pending  # name → CREATE INDEX text, of the indexes dropped and not built again yet

    def build(self, names: Collection[str] | None = None) -> None:
        """Creates the pending indexes named (all of them by default) now."""
        for name in sorted(self.pending if names is None else set(names) & set(self.pending)):
            self._conn.exec_driver_sql(self.pending.pop(name))


@contextmanager
def deferred_indexes(conn: Connection, table: str, keep: Collection[str]) -> Iterator[DeferredIndexes]:
    """On SQLite, inside the caller's transaction: drops `table`'s indexes except those named in `keep` (the ones
    the load's own queries need from the start) and unique ones (they enforce a rule while the rows go in); the
    block may build some of them early, and the rest are built when it ends normally.

    When the block raises, nothing is rebuilt: the caller rolls back, which restores them. Elsewhere nothing is
    dropped (the object's `pending` is empty)."""
    if conn.dialect.name != "sqlite":
        yield DeferredIndexes(conn, {})
        return
    pending = {
        name: sql
        for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY name",
            (table,),
        )
        if name not in keep and not sql.lstrip().upper().startswith("CREATE UNIQUE")
    }
    for name in pending:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    deferred = DeferredIndexes(conn, pending)
    yield deferred
    deferred.build()
