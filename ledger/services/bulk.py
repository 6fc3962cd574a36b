"""Writing many ledger rows under one audit record: the fastest honest write each backend offers.

COPY on PostgreSQL, raw executemany on SQLite: same rows, same columns, same transaction; only the wire protocol
differs, the way the view SQL differs per dialect. Measured here (docs/benchmarks.md): SQLAlchemy's
insertmanyvalues over psycopg 3 was ~40× slower than COPY for a million rows, and Core executemany on SQLite ~1.6×
raw executemany. The audit record's id is reserved first and the record appended last with the digest of every
row written under it (the foreign key is deferred), so `audit verify` treats bulk rows like any other.
"""

from __future__ import annotations

import threading
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
    raw: Any = conn.connection.driver_connection  # the DB-API connection, in the caller's transaction
    if conn.dialect.name == "postgresql":
        return _copy(raw, table, columns, rows)
    batch = [tuple(_sqlite_value(v) for v in row) for row in rows]
    if batch:
        raw.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", batch
        )
    return len(batch)


def write_ledger_rows(
    conn: Connection, audit: PendingAudit, table: str, rows: Iterable[Mapping[str, Any]]
) -> int:
    """Digest then insert rows of an append-only ledger table under `audit` (one chunk; callers stream)."""
    values = stage_ledger_rows(audit, table, rows)
    insert_staged(conn, table, values)
    return len(values)


def stage_ledger_rows(audit: PendingAudit, table: str, rows: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """Rows of an append-only ledger table as written under `audit`: digested and tallied (in the order they must
    then be inserted), each returned as its insert values (LEDGER_COLUMNS order, then the audit id).

    The digest's normalised values (dates as ISO text, booleans as 0/1) are exactly what SQLite stores and what
    PostgreSQL's COPY text input reads for date and boolean columns, so each row is converted once, for both."""
    return stage_values(audit, table, [row_values(table, row) for row in rows])


def stage_values(audit: PendingAudit, table: str, values: list[list[Any]]) -> list[list[Any]]:
    """stage_ledger_rows for rows already as row_values gives them (LEDGER_COLUMNS order, canonical): digested,
    tallied, and each given the audit id as its last value, in place."""
    if not values:
        return values
    audit.digest.add_rows(table, values)
    audit.share.add_rows(table, values)
    audit_id = audit.id
    for each in values:
        each.append(audit_id)  # the insert's last column; the digest above is of the row's own values
    return values


def insert_staged(conn: Connection, table: str, values: Sequence[Sequence[Any]]) -> None:
    """Inserts stage_ledger_rows' values in the caller's transaction: COPY on PostgreSQL, raw executemany on
    SQLite."""
    if not values:
        return
    columns = (*LEDGER_COLUMNS[table], "audit_id")
    if conn.dialect.name == "postgresql":
        fast_insert(conn, table, columns, values)
        return
    raw: Any = conn.connection.driver_connection  # the DB-API connection, in the caller's transaction
    raw.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})", values
    )


class InsertBehind:
    """Inserts one batch of staged ledger rows while the caller works on the next batch: on PostgreSQL a COPY on a
    thread of its own, on SQLite in line (see below).

    Why: on PostgreSQL a COPY's cost is mostly the server's (index upkeep, three foreign-key checks per drawdown),
    in another process, while psycopg waits without the GIL; the importer's own Python work on the next chunk
    need not wait for it. Measured 2026-12-04 (git history has the runs): the 100k import 8.6–10.0 s → 7.9–8.5 s,
    the 1M import 101 → 92 s.

    SQLite does its work in this process: behind a thread it competed for the box's two cores with the importer
    and its checker process, and the 1M import took 70 s against 64 s in line (the raw insert alone, with the
    checker busy on the other core, is already ~35 % slower than on an idle box). It also had to use multi-row
    INSERT statements: executemany steps once per row and takes the GIL back after every step, and with the
    caller busy in Python each take waits out the interpreter's switch interval (5 ms) — 100,000 rows took 229 s.

    One connection runs one statement at a time, so the caller keeps a protocol: between `submit` and the next
    `wait` (or `submit`, which waits first) it sends nothing on the connection. Rows go in submission order, in
    the caller's transaction; an error on the thread is raised by `wait`. `close` waits whatever happens, so the
    caller never rolls back under a statement still running."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, table: str, values: list[list[Any]]) -> None:
        self.wait()
        if not values:
            return
        if self._conn.dialect.name != "postgresql":
            insert_staged(self._conn, table, values)
            return
        raw = self._conn.connection.driver_connection
        columns = (*LEDGER_COLUMNS[table], "audit_id")
        self._thread = threading.Thread(
            target=self._copy, args=(raw, table, columns, values), name="ledger-insert-behind"
        )
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> None:
        """Waits for the thread; an error it raised is dropped (the caller is already failing or done)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._error = None

    def _copy(self, raw: Any, table: str, columns: Sequence[str], values: list[list[Any]]) -> None:
        try:
            _copy(raw, table, columns, values)
        except BaseException as exc:  # raised in the caller's thread by wait()
            self._error = exc


def _copy(raw: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


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
