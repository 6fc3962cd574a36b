"""A bulk load's secondary indexes built once at its end instead of row by row (SQLite).

Inserting a row puts its key into every index of the table, each at its own place in a B-tree: for the drawdown
table's seven indexes, seven walks through pages that a large load visits in no useful order. `CREATE INDEX`
instead sorts the keys once and writes the tree bottom up. Measured on the 98,962 drawdowns of the 100k benchmark
file, eight imports each way alternating in one process (docs/benchmarks.md, import, eighth round): the import's
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


@contextmanager
def indexes_built_after(conn: Connection, table: str, keep: Collection[str]) -> Iterator[None]:
    """On SQLite, inside the caller's transaction: drops `table`'s indexes except those named in `keep` (the ones
    the load's own queries need) and unique ones (they enforce a rule while the rows go in), and creates them
    again from their own SQL text when the block ends normally.

    When the block raises, nothing is rebuilt: the caller rolls back, which restores them. Elsewhere a no-op."""
    if conn.dialect.name != "sqlite":
        yield
        return
    deferred = [
        (name, sql)
        for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY name",
            (table,),
        )
        if name not in keep and not sql.lstrip().upper().startswith("CREATE UNIQUE")
    ]
    for name, _ in deferred:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, sql in deferred:
        conn.exec_driver_sql(sql)
