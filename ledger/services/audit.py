"""The audit trail: one record per write, chained by sha256, and the check that nothing was changed behind it.

Each record hashes every one of its fields plus the previous record's hash; each ledger row points at the record
that wrote it, whose `rows_digest` fixes the row's content. So a direct UPDATE of a drawdown (with the triggers
dropped), an edited payload, or a deleted record each break something `verify` recomputes.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, func, insert, select, text
from sqlmodel import col

from ledger.db.engine import streamed
from ledger.db.models import AuditLog, Enterprise, Institution
from ledger.services import share_tally
from ledger.services.bulk import fast_insert
from ledger.services.canonical import LEDGER_COLUMNS, RowsDigest, canonical_json, normalise
from ledger.services.share_tally import ShareTally

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 7_021_202_2  # one advisory lock key: appends to the chain are serialised


def current_actor(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("LEDGER_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no passwd entry in some containers
        return "unknown"


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
    free: on PostgreSQL the same advisory lock the audit chain uses; on SQLite BEGIN IMMEDIATE already holds it.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})


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
    last = conn.execute(
        select(col(AuditLog.id), col(AuditLog.hash)).order_by(col(AuditLog.id).desc()).limit(1)
    ).first()
    last_id, prev_hash = (cast(int, last[0]), str(last[1])) if last else (0, GENESIS)
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


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    rows: int
    problem: str = ""
    bad_record: int | None = None


_TABLE_ORDER = tuple(LEDGER_COLUMNS)


def _stream(conn: Connection, table: str) -> Iterator[tuple[int, int, list[Any]]]:
    cols = ", ".join(LEDGER_COLUMNS[table])
    key = "id" if table != "month_close" else "month"
    result = streamed(
        conn, 5000, text(f"SELECT audit_id, {key}, {cols} FROM {table} ORDER BY audit_id, {key}")
    )
    for row in result:
        values = list(row[2:])
        if table == "drawdown":  # key_area comes back as bool (PostgreSQL) or 0/1 (SQLite)
            idx = LEDGER_COLUMNS[table].index("key_area")
            values[idx] = int(bool(values[idx]))
        yield row[0], row[1], [normalise(v) for v in values]


def verify(conn: Connection) -> VerifyResult:
    """Walks the chain and merge-joins every ledger table on audit_id, streaming: memory stays flat at 1M rows."""
    streams = {t: _stream(conn, t) for t in _TABLE_ORDER}
    heads: dict[str, tuple[int, int, list[Any]] | None] = {t: next(streams[t], None) for t in _TABLE_ORDER}
    latest_reference: dict[tuple[str, str], str] = {}
    prev_hash, expected_id, records, rows = GENESIS, 1, 0, 0
    audit_rows = streamed(conn, 5000, select(AuditLog).order_by(col(AuditLog.id)))
    for rec in audit_rows.mappings():
        fields = dict(rec)
        if fields["id"] != expected_id:
            return VerifyResult(False, records, rows, f"audit record {expected_id} is missing", expected_id)
        if fields["prev_hash"] != prev_hash:
            return VerifyResult(
                False, records, rows, f"audit record {rec['id']}: chain broken (prev_hash)", rec["id"]
            )
        if record_hash(fields) != fields["hash"]:
            return VerifyResult(
                False, records, rows, f"audit record {rec['id']}: contents changed (hash)", rec["id"]
            )
        digest = RowsDigest()
        for table in _TABLE_ORDER:
            head = heads[table]
            while head is not None and head[0] <= rec["id"]:
                if head[0] < rec["id"]:
                    return VerifyResult(
                        False,
                        records,
                        rows,
                        f"{table} row {head[1]} points at no audit record ({head[0]})",
                        head[0],
                    )
                digest.add_values(table, head[2])
                head = next(streams[table], None)
            heads[table] = head
        if digest.hexdigest() != fields["rows_digest"] or digest.count != fields["row_count"]:
            return VerifyResult(
                False,
                records,
                rows,
                f"audit record {rec['id']} ({rec['action']}): the ledger rows it wrote were changed, added or removed",
                rec["id"],
            )
        if rec["entity"] in ("enterprise", "institution") and rec["action"] in ("create", "update"):
            latest_reference[(rec["entity"], rec["entity_id"])] = rec["payload"]
        rows += digest.count
        records += 1
        prev_hash = fields["hash"]
        expected_id += 1
    for table, head in heads.items():
        if head is not None:
            return VerifyResult(
                False, records, rows, f"{table} row {head[1]} points at no audit record ({head[0]})", head[0]
            )
    problem = _verify_reference(conn, latest_reference)
    if problem:
        return VerifyResult(False, records, rows, problem)
    # The share figures are derived, not audited: recomputed here, so a write that bypassed them is found.
    share = share_tally.differences(conn, limit=3)
    if share:
        return VerifyResult(False, records, rows, "; ".join(share))
    return VerifyResult(True, records, rows)


def reference_payload(entity: str, row: Any) -> dict[str, Any]:
    """What an audit record says a reference row holds; verify compares the current row with the latest one."""
    if entity == "enterprise":
        return {"uscc": row.uscc, "name": row.name, "industry_code": row.industry_code, "size": row.size}
    return {"code": row.code, "name": row.name, "type": row.type}


def _verify_reference(conn: Connection, latest: dict[tuple[str, str], str]) -> str:
    for entity, model, key in (("enterprise", Enterprise, "uscc"), ("institution", Institution, "code")):
        count = conn.execute(select(func.count()).select_from(model)).scalar_one()
        audited = sum(1 for (e, _k) in latest if e == entity)
        if count != audited:
            return f"{entity}: {count} rows but {audited} audited ({entity} rows added or removed outside the ledger)"
        for row in streamed(conn, 5000, select(model)):
            payload = latest.get((entity, getattr(row, key)))
            if payload is None or canonical_json(reference_payload(entity, row)) != canonical_json(
                _loads(payload)
            ):
                return f"{entity} {getattr(row, key)}: differs from its last audit record (edited outside the ledger)"
    return ""


def _loads(payload: str) -> Any:
    import json

    data = json.loads(payload)
    return {k: data.get(k) for k in data if k in ("uscc", "name", "industry_code", "size", "code", "type")}
