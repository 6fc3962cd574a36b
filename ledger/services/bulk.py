"""Writing many prepared drawdowns under one audit record, streamed in chunks (import, demo).

The audit record's id is reserved first and the record itself appended last, carrying the digest of every row
written under it; the foreign key is deferred so this works inside one transaction on both backends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, insert

from ledger.db.models import Drawdown, EnterpriseStatus
from ledger.services.audit import PendingAudit

CHUNK = 5000


def insert_drawdowns(conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]], chunk: int = CHUNK) -> int:
    """Inserts rows (drawdown column values without id and audit_id) in chunks; returns how many."""
    statement = insert(Drawdown)
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        audit.digest.add("drawdown", row)
        batch.append({**row, "audit_id": audit.id})
        if len(batch) >= chunk:
            conn.execute(statement, batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(statement, batch)
        count += len(batch)
    return count


def insert_statuses(conn: Connection, audit: PendingAudit, rows: Iterable[Mapping[str, Any]]) -> int:
    batch = []
    for row in rows:
        audit.digest.add("enterprise_status", row)
        batch.append({**row, "audit_id": audit.id})
    if batch:
        conn.execute(insert(EnterpriseStatus), batch)
    return len(batch)
