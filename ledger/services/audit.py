"""The audit trail: one record per write, chained by sha256; the chain's head; appending state records.

Each record hashes every one of its fields plus the previous record's hash; each ledger row points at the record
that wrote it, whose `rows_digest` fixes the row's content; each change of a mutable table (users, tools, pending
items, banks, firms) records the row's whole state (ledger.services.audit_state). `ledger audit verify`
(ledger.services.audit_verify) recomputes all of it. The head — how many records and the last one's hash — is what
month closes and report registrations record and the PDFs print, so a chain cut short or rewritten behind an
anchor someone holds is found (`ledger audit verify --expect-head COUNT:HASH`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text
from sqlmodel import col

from ledger.db.models import AuditLog
from ledger.services.audit_state import BY_TABLE, current_state
from ledger.services.bulk import fast_insert
from ledger.services.canonical import RowsDigest, canonical_json
from ledger.services.share_tally import ShareTally

GENESIS = "0" * 64


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


# The fields a record's hash covers, in hashing order; with the hash itself, every column of audit_log.
_HASHED_FIELDS = (
    "id",
    "recorded_at",
    "actor",
    "action",
    "entity",
    "entity_id",
    "payload",
    "rows_digest",
    "row_count",
    "prev_hash",
)


def record_hash(fields: dict[str, Any]) -> str:
    ordered = [fields[k] for k in _HASHED_FIELDS]
    return hashlib.sha256(canonical_json(ordered).encode()).hexdigest()


@dataclass
class PendingAudit:
    """An audit record whose id is reserved; rows written under it feed `digest` (and, for drawdowns and
    reversals, `share`); `commit` writes the share figures and appends the record last."""

    id: int
    prev_hash: str
    actor: str
    action: str
    entity: str
    entity_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    digest: RowsDigest = field(default_factory=RowsDigest)
    recorded_at: str = field(default_factory=utc_now)
    share: ShareTally = field(default_factory=ShareTally)

    def commit(self, conn: Connection) -> int:
        self.share.flush(conn)
        values: dict[str, Any] = {
            "id": self.id,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
            "action": self.action,
            "entity": self.entity,
            "entity_id": str(self.entity_id),
            "payload": canonical_json(self.payload),
            "rows_digest": self.digest.hexdigest(),
            "row_count": self.digest.count,
            "prev_hash": self.prev_hash,
        }
        values["hash"] = record_hash(values)
        conn.execute(insert(AuditLog).values(**values))
        return self.id


def serialise_writes(conn: Connection) -> None:
    """Holds the ledger's write lock until the transaction ends.

    Taken before a booking's duplicate checks (bill, reference, quota), so two sessions cannot both see a bill as
    free. PostgreSQL: the one row of ledger_lock, `FOR UPDATE` — a row lock needs UPDATE on the table, which only
    logins with write grants have, so a read-only login cannot stall bookings (an advisory lock, which anyone may
    take, could). SQLite: BEGIN IMMEDIATE already holds the database's write lock.
    """
    if conn.dialect.name != "postgresql":
        return
    if conn.execute(text("SELECT id FROM ledger_lock WHERE id = 1 FOR UPDATE")).first() is None:
        raise RuntimeError("ledger_lock has no row: writes cannot be serialised; run `ledger init`")


def chain_head(conn: Connection) -> tuple[int, str]:
    """(number of records, last record's hash); (0, GENESIS) for an empty chain. Ids run 1..N without gaps."""
    last = conn.execute(
        select(col(AuditLog.id), col(AuditLog.hash)).order_by(col(AuditLog.id).desc()).limit(1)
    ).first()
    return (int(last[0] or 0), str(last[1])) if last else (0, GENESIS)


def format_head(head: tuple[int, str]) -> str:
    return f"{head[0]} {head[1]}"


def begin_audit(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = "",
    payload: dict[str, Any] | None = None,
) -> PendingAudit:
    """Reserves the next id of the chain. Appends are serialised (advisory lock on PostgreSQL; SQLite's writer lock)."""
    serialise_writes(conn)
    last_id, prev_hash = chain_head(conn)
    return PendingAudit(last_id + 1, prev_hash, actor, action, entity, str(entity_id), dict(payload or {}))


def append_audit(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = "",
    payload: dict[str, Any] | None = None,
) -> int:
    return begin_audit(conn, actor, action, entity, entity_id, payload).commit(conn)


def append_many(
    conn: Connection, actor: str, records: list[tuple[str, str, str, dict[str, Any]]]
) -> list[int]:
    """Appends (action, entity, entity_id, payload) records in one executemany, chaining hashes in memory.

    Used where thousands of reference rows arrive at once (demo data, an import's new enterprises): one record
    per entity keeps `verify`'s reference check exact without a round trip per record.
    """
    if not records:
        return []
    first = begin_audit(conn, actor, "", "")
    next_id, prev_hash, stamp = first.id, first.prev_hash, utc_now()
    rows, ids = [], []
    for action, entity, entity_id, payload in records:
        values: dict[str, Any] = {
            "id": next_id,
            "recorded_at": stamp,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "payload": canonical_json(payload),
            "rows_digest": "",
            "row_count": 0,
            "prev_hash": prev_hash,
        }
        values["hash"] = prev_hash = record_hash(values)
        rows.append(values)
        ids.append(next_id)
        next_id += 1
    fast_insert(conn, "audit_log", _AUDIT_COLUMNS, [tuple(map(r.__getitem__, _AUDIT_COLUMNS)) for r in rows])
    return ids


# Every column of audit_log, for append_many's bulk insert: SQLAlchemy's executemany of dicts took ~1.5 s for an
# import's 60,000 'create' records on SQLite, and psycopg's insertmanyvalues is far slower than COPY.
_AUDIT_COLUMNS = (*_HASHED_FIELDS, "hash")


def append_state(
    conn: Connection,
    actor: str,
    action: str,
    table: str,
    key: Any,
    extra: dict[str, Any] | None = None,
) -> int:
    """Appends the record of a change to a mutable table, carrying the row's whole state as it is now (read back
    in the same transaction, so what is recorded is exactly what was written)."""
    spec = BY_TABLE[table]
    state = current_state(conn, table, key)
    return append_audit(conn, actor, action, spec.entity, str(key), {**(extra or {}), "state": state})


def reference_payload(entity: str, row: Any) -> dict[str, Any]:
    """What an audit record says a firm or bank holds (the legacy state shape, still written by bulk loads)."""
    if entity == "enterprise":
        return {"uscc": row.uscc, "name": row.name, "industry_code": row.industry_code, "size": row.size}
    return {"code": row.code, "name": row.name, "type": row.type}
