"""Writing many ledger rows under one audit record, streamed in chunks (import, demo).

The audit record's id is reserved first and the record itself appended last, carrying the digest of every row
written under it; the foreign key is deferred so this works inside one transaction on both backends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, insert
from sqlmodel import SQLModel

from ledger.db.models import Drawdown, DrawdownEvent, EnterpriseStatus
from ledger.services.audit import PendingAudit

CHUNK = 5000


def insert_rows(
    conn: Connection,
    audit: PendingAudit,
    model: type[SQLModel],
    rows: Iterable[Mapping[str, Any]],
    chunk: int = CHUNK,
) -> int:
    """Inserts rows (column values without id and audit_id) of one ledger table in chunks; returns how many."""
    table = str(model.__tablename__)
    statement = insert(model)
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        audit.digest.add(table, row)
        batch.append({**row, "audit_id": audit.id})
        if len(batch) >= chunk:
            conn.execute(statement, batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(statement, batch)
        count += len(batch)
    return count


def insert_drawdowns(
    conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]], chunk: int = CHUNK
) -> int:
    return insert_rows(conn, audit, Drawdown, rows, chunk)


def insert_events(
    conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]], chunk: int = CHUNK
) -> int:
    return insert_rows(conn, audit, DrawdownEvent, rows, chunk)


def insert_statuses(conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]]) -> int:
    return insert_rows(conn, audit, EnterpriseStatus, rows)
