"""`ledger audit verify`: recompute the chain and everything it covers, and hold it to the anchors people keep.

What is checked, and why each:
- The chain: ids 1..N without a gap, each record's prev_hash the previous record's hash, each record's hash over
  its fields. An edited or deleted record breaks it.
- Append-only ledger tables (drawdowns, events, statuses, month closes, report registrations, policy): merge-joined
  on audit_id, each record's rows_digest recomputed from the rows that point at it. A row edited, added or removed
  behind the ledger's back breaks its record's digest.
- Mutable tables (users, tools and their rates, pending items, banks, firms): every row equals the state its latest
  audit record carries (ledger.services.audit_state).
- share_month, a derived summary the share rule reads: recomputed from the ledger tables.
- Anchors: the head (COUNT, HASH) that each month close and report registration recorded, and any the caller holds
  (`--expect-head COUNT:HASH`, e.g. the head printed on a filed report). A chain shorter than an anchor, or whose
  record COUNT has another hash, has been cut short or rewritten: only an anchor kept outside the database can show
  that, so the reports print it and staff can note `ledger audit head`.

`since_anchor`: a daily check that starts at the latest anchor instead of the genesis record — the anchor's record is
re-hashed and everything after it checked as above; of the mutable tables, the rows changed after the anchor and
every table's row count. The records and rows before the anchor, edits of mutable rows untouched since it, and
share_month are left to the full verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from ledger.db.engine import streamed
from ledger.services import share_tally
from ledger.services.audit import _HASHED_FIELDS, GENESIS, record_hash
from ledger.services.audit_state import BY_ENTITY, STATE_TABLES, current_states, differs, state_from_record
from ledger.services.canonical import LEDGER_COLUMNS, RowsDigest, canonical_rows

ANCHOR_ACTIONS = ("close", "report")
_BATCH = 5000
_TABLE_ORDER = tuple(LEDGER_COLUMNS)
_AUDIT_COLUMNS = ", ".join((*_HASHED_FIELDS, "hash"))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    rows: int
    problem: str = ""
    bad_record: int | None = None
    head: tuple[int, str] = (0, GENESIS)
    anchors: int = 0  # anchors held against the chain (recorded and given)
    since: int = 0  # the record the walk started after (0: from the genesis)


class _Failed(Exception):
    def __init__(self, problem: str, record: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.record = problem, record


def parse_head(text_value: str) -> tuple[int, str]:
    """'COUNT:HASH' or 'COUNT HASH' (as `ledger audit head` prints it)."""
    parts = text_value.replace(":", " ").split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[1]) != 64:
        raise ValueError(
            "应为 COUNT:HASH,如 1234:3f2a…(64位十六进制) (expected COUNT:HASH as `ledger audit head` prints)"
        )
    return int(parts[0]), parts[1].lower()


def recorded_anchors(conn: Connection) -> list[tuple[int, str, int]]:
    """(count, hash, record id) of every head a month close or report registration recorded."""
    out = []
    rows = conn.execute(
        text("SELECT id, payload FROM audit_log WHERE action IN ('close', 'report') ORDER BY id")
    )
    for record_id, payload in rows:
        try:
            head = json.loads(payload).get("head")
        except ValueError:
            continue  # the record's own hash check reports a mangled payload
        if isinstance(head, list) and len(head) == 2:
            out.append((int(head[0]), str(head[1]), int(record_id)))
    return out


def _stream(conn: Connection, table: str, after: int) -> Iterator[tuple[int, Any, list[list[Any]]]]:
    """(audit_id, first row's key, canonical rows) for the table's rows in audit_id order: consecutive rows of one
    record in batches of at most _BATCH (a demo record owns a million drawdowns), hashed a batch at a time."""
    cols = ", ".join(LEDGER_COLUMNS[table])
    key = "id" if table != "month_close" else "month"
    where = "WHERE audit_id > :after " if after else ""
    result = streamed(
        conn,
        _BATCH,
        text(f"SELECT audit_id, {key}, {cols} FROM {table} {where}ORDER BY audit_id, {key}"),
        {"after": after} if after else None,
    )
    record: Any = None
    first: Any = None
    batch: list[Any] = []
    for part in result.partitions(_BATCH):
        for row in part:
            if row[0] != record or len(batch) >= _BATCH:
                if batch:
                    yield record, first, canonical_rows(table, batch)
                record, first, batch = row[0], row[1], []
            batch.append(row[2:])
    if batch:
        yield record, first, canonical_rows(table, batch)


class _Walk:
    """One pass over the chain from `after`, merge-joining the ledger tables and collecting states."""

    def __init__(self, conn: Connection, after: int, prev_hash: str, wanted: set[int]) -> None:
        self.conn, self.after, self.prev_hash = conn, after, prev_hash
        self.wanted = wanted  # record ids whose hash an anchor names
        self.hashes: dict[int, str] = {}
        self.records = self.rows = 0
        self.last_id = after
        self.states: dict[tuple[str, str], dict[str, Any]] = {}

    def run(self) -> None:
        streams = {t: _stream(self.conn, t, self.after) for t in _TABLE_ORDER}
        heads = {t: next(streams[t], None) for t in _TABLE_ORDER}
        expected = self.after + 1
        query = text(f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE id > :after ORDER BY id")
        for rec in streamed(self.conn, 5000, query, {"after": self.after}).mappings():
            fields = dict(rec)
            rid = fields["id"]
            if rid != expected:
                raise _Failed(f"audit record {expected} is missing", expected)
            if fields["prev_hash"] != self.prev_hash:
                raise _Failed(f"audit record {rid}: chain broken (prev_hash)", rid)
            if record_hash(fields) != fields["hash"]:
                raise _Failed(f"audit record {rid}: contents changed (hash)", rid)
            digest = RowsDigest()
            for table in _TABLE_ORDER:
                head = heads[table]
                while head is not None and head[0] <= rid:
                    if head[0] < rid:
                        raise _Failed(f"{table} row {head[1]} points at no audit record ({head[0]})", head[0])
                    digest.add_rows(table, head[2])
                    head = next(streams[table], None)
                heads[table] = head
            if digest.hexdigest() != fields["rows_digest"] or digest.count != fields["row_count"]:
                raise _Failed(
                    f"audit record {rid} ({fields['action']}): the ledger rows it wrote were changed, added or "
                    f"removed",
                    rid,
                )
            self._state(fields)
            if rid in self.wanted:
                self.hashes[rid] = fields["hash"]
            self.rows += digest.count
            self.records += 1
            self.prev_hash = fields["hash"]
            self.last_id = rid
            expected += 1
        for table, head in heads.items():
            if head is not None:
                raise _Failed(f"{table} row {head[1]} points at no audit record ({head[0]})", head[0])

    def _state(self, fields: dict[str, Any]) -> None:
        entity = fields["entity"]
        if entity not in BY_ENTITY:
            return
        key = (entity, str(fields["entity_id"]))
        try:
            state = state_from_record(entity, fields["action"], fields["payload"], self.states.get(key))
        except ValueError:
            raise _Failed(f"audit record {fields['id']}: payload is not JSON", fields["id"]) from None
        if state is not None:
            self.states[key] = state


def _check_states_since(conn: Connection, latest: dict[tuple[str, str], dict[str, Any]]) -> None:
    """From an anchor: the rows changed after it against their states, and each table's row count against the keys
    its records name (a row added or removed behind the ledger). An edit of a row untouched since the anchor is the
    full verify's to find: it reads every row (60k firms: about a second), which a daily check need not."""
    for spec in STATE_TABLES:
        recorded = {k: v for (e, k), v in latest.items() if e == spec.entity}
        seen = dict(current_states(conn, spec.table, recorded)) if recorded else {}
        for key, want in recorded.items():
            if key not in seen:
                raise _Failed(f"{spec.table} {key}: removed outside the ledger")
            column = differs(want, seen[key])
            if column is not None:
                raise _Failed(
                    f"{spec.table} {key}: {column} differs from its last audit record (edited outside the ledger)"
                )
        rows = conn.execute(text(f"SELECT COUNT(*) FROM {spec.table}")).scalar_one()
        keys = conn.execute(
            text("SELECT COUNT(DISTINCT entity_id) FROM audit_log WHERE entity = :e"), {"e": spec.entity}
        ).scalar_one()
        if rows != keys:
            raise _Failed(
                f"{spec.table}: {rows} rows but audit records name {keys} (a row was added or removed outside the "
                f"ledger; run the full verify to name it)"
            )


def _check_states(conn: Connection, latest: dict[tuple[str, str], dict[str, Any]]) -> None:
    for spec in STATE_TABLES:
        recorded = {k: v for (e, k), v in latest.items() if e == spec.entity}
        seen = 0
        for key, state in current_states(conn, spec.table):
            seen += 1
            want = recorded.get(key)
            if want is None:
                raise _Failed(f"{spec.table} {key}: no audit record made it (added outside the ledger)")
            column = differs(want, state)
            if column is not None:
                raise _Failed(
                    f"{spec.table} {key}: {column} differs from its last audit record (edited outside the ledger)"
                )
        if seen != len(recorded):
            gone = sorted(set(recorded) - {k for k, _ in current_states(conn, spec.table)})
            raise _Failed(
                f"{spec.table}: {len(recorded)} audited but {seen} rows ({', '.join(gone[:3])} removed outside "
                f"the ledger)"
            )


def _stored_hash(conn: Connection, record_id: int) -> tuple[str, bool]:
    """The record's stored hash and whether its fields still hash to it."""
    row = (
        conn.execute(text(f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE id = :i"), {"i": record_id})
        .mappings()
        .first()
    )
    if row is None:
        return "", False
    fields = dict(row)
    return str(fields["hash"]), record_hash(fields) == fields["hash"]


def verify(
    conn: Connection, expect_heads: Sequence[tuple[int, str]] = (), since_anchor: bool = False
) -> VerifyResult:
    """The whole check (or, `since_anchor`, from the latest anchor on); streaming: memory stays flat at 1M rows."""
    anchors = [(n, h.lower(), "--expect-head") for n, h in expect_heads]
    anchors += [(n, h, f"record {rid}") for n, h, rid in recorded_anchors(conn)]
    total = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_log")).scalar_one())
    start, prev = 0, GENESIS
    try:
        for n, _h, where in anchors:
            if n > total:
                raise _Failed(
                    f"chain has {total} records but the anchor from {where} expects {n}: records {total + 1}–{n} "
                    f"are missing (the chain was cut short)",
                    total + 1,
                )
        if since_anchor and anchors:
            start, prev = max((n, h) for n, h, _ in anchors if n <= total)
            stored, intact = _stored_hash(conn, start)
            if stored != prev or not intact:
                raise _Failed(f"audit record {start}: does not match the anchor (rewritten)", start)
        walk = _Walk(conn, start, prev, {n for n, _, _ in anchors if n > start})
        walk.run()
        for n, h, where in anchors:
            if n == 0:
                ok = h == GENESIS
            elif n > start:
                ok = walk.hashes.get(n) == h
            else:
                stored, intact = _stored_hash(conn, n)
                ok = stored == h and intact
            if not ok:
                raise _Failed(
                    f"audit record {n}: its hash is not the one the anchor from {where} holds (the chain was "
                    f"rewritten from there on)",
                    n,
                )
        if start:
            _check_states_since(conn, walk.states)
        else:
            _check_states(conn, walk.states)
        if not since_anchor:
            # The share figures are derived, not audited: recomputed here, so a write that bypassed them is found.
            share = share_tally.differences(conn, limit=3)
            if share:
                raise _Failed("; ".join(share))
    except _Failed as failure:
        return VerifyResult(False, 0, 0, failure.problem, failure.record, since=start, anchors=len(anchors))
    return VerifyResult(
        True,
        walk.records + start,
        walk.rows,
        head=(walk.last_id, walk.prev_hash),
        anchors=len(anchors),
        since=start,
    )
