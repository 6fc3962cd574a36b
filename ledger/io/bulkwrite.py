"""The fastest honest write each backend offers, for bulk paths: COPY on PostgreSQL, executemany on SQLite.

Same rows, same columns, same transaction as the rest of the import; only the wire protocol differs, the way the
view SQL differs per dialect. Measured on this machine class (docs/benchmarks.md): SQLAlchemy's insertmanyvalues
over psycopg 3 is ~40× slower than COPY for a million rows, and Core executemany on SQLite ~1.6× raw executemany,
which alone would spend the import's whole 3× budget. Ledger rows still feed the audit digest first, exactly as
`services.bulk.insert_rows` does, so `audit verify` treats them the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ledger.services.audit import PendingAudit
from ledger.services.canonical import LEDGER_COLUMNS


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, date):
        return value.isoformat()  # SQLAlchemy's SQLite Date storage format
    return value


def fast_insert(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Inserts tuples (in `columns` order) into `table` in the caller's transaction; returns the row count."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        count = 0
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = [tuple(_sqlite_value(v) for v in row) for row in rows]
    if batch:
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)  # type: ignore[arg-type]
    return len(batch)


def write_ledger_rows(
    conn: Connection, audit: PendingAudit, table: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Digest then insert rows of an append-only ledger table under `audit` (one chunk; the caller streams)."""
    columns = LEDGER_COLUMNS[table]
    tuples = []
    for row in rows:
        audit.digest.add(table, row)
        tuples.append((*(row[c] for c in columns), audit.id))
    return fast_insert(conn, table, (*columns, "audit_id"), tuples)
