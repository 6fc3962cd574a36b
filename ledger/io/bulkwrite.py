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
from ledger.services.canonical import LEDGER_COLUMNS, row_values


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
    """Digest then insert rows of an append-only ledger table under `audit` (one chunk; the caller streams).

    The digest's normalised values (dates as ISO text, booleans as 0/1) are exactly what SQLite stores and what
    PostgreSQL's COPY text input reads for date and boolean columns, so each row is converted once, for both."""
    columns = LEDGER_COLUMNS[table]
    add = audit.digest.add_values
    tuples = []
    for row in rows:
        values = row_values(table, row)
        add(table, values)
        tuples.append((*values, audit.id))
    return _insert_normalised(conn, table, (*columns, "audit_id"), tuples)


def _insert_normalised(
    conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> int:
    if conn.dialect.name == "postgresql" or not rows:
        return fast_insert(conn, table, columns, rows)
    names, marks = ", ".join(columns), ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # type: ignore[arg-type]
    return len(rows)
