"""Writing many ledger rows under one audit record: the fastest honest write each backend offers.

COPY on PostgreSQL, raw executemany on SQLite: same rows, same columns, same transaction; only the wire protocol
differs, the way the view SQL differs per dialect. Measured here (docs/benchmarks.md): SQLAlchemy's
insertmanyvalues over psycopg 3 was ~40× slower than COPY for a million rows, and Core executemany on SQLite ~1.6×
raw executemany. The audit record's id is reserved first and the record appended last with the digest of every
row written under it (the foreign key is deferred), so `audit verify` treats bulk rows like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ledger.services.canonical import LEDGER_COLUMNS, row_values

if TYPE_CHECKING:  # audit appends its own records with fast_insert
    from ledger.services.audit import PendingAudit

CHUNK = 5000


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, date):
        return value.isoformat()  # SQLAlchemy's SQLite Date storage format
    return value


def fast_insert(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Inserts tuples (in `columns` order) into `table` in the caller's transaction; returns the row count."""
    names = ", ".join(columns)
    raw: Any = conn.connection.driver_connection  # the DB-API connection, in the caller's transaction
    if conn.dialect.name == "postgresql":
        count = 0
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = [tuple(_sqlite_value(v) for v in row) for row in rows]
    if batch:
        raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})", batch)
    return len(batch)


def write_ledger_rows(
    conn: Connection, audit: PendingAudit, table: str, rows: Iterable[Mapping[str, Any]]
) -> int:
    """Digest then insert rows of an append-only ledger table under `audit` (one chunk; callers stream).

    The digest's normalised values (dates as ISO text, booleans as 0/1) are exactly what SQLite stores and what
    PostgreSQL's COPY text input reads for date and boolean columns, so each row is converted once, for both."""
    columns = (*LEDGER_COLUMNS[table], "audit_id")
    values = [row_values(table, row) for row in rows]
    if not values:
        return 0
    audit.digest.add_rows(table, values)
    audit.share.add_rows(table, values)
    audit_id = audit.id
    for each in values:
        each.append(audit_id)  # the insert's last column; the digest above is of the row's own values
    if conn.dialect.name == "postgresql":
        return fast_insert(conn, table, columns, values)
    raw: Any = conn.connection.driver_connection  # the DB-API connection, in the caller's transaction
    raw.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", values
    )
    return len(values)


def insert_rows(
    conn: Connection, audit: PendingAudit, table: str, rows: Iterable[Mapping[str, Any]], chunk: int = CHUNK
) -> int:
    """Streams rows (column values without id and audit_id) of one ledger table in chunks; returns how many."""
    iterator = iter(rows)
    count = 0
    while batch := list(islice(iterator, chunk)):
        count += write_ledger_rows(conn, audit, table, batch)
    return count


def insert_drawdowns(
    conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]], chunk: int = CHUNK
) -> int:
    return insert_rows(conn, audit, "drawdown", rows, chunk)


def insert_events(
    conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]], chunk: int = CHUNK
) -> int:
    return insert_rows(conn, audit, "drawdown_event", rows, chunk)


def insert_statuses(conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]]) -> int:
    return insert_rows(conn, audit, "enterprise_status", rows)
