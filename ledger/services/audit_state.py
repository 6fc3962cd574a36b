"""The mutable tables under the chain: users, tools (with their rates), pending items, banks and firms.

Append-only tables are fixed by their rows' digests (ledger.services.canonical). These tables change in place (a
role changes, a pending item is decided, a firm is renamed), so each change writes an audit record carrying the
row's whole state after it, and `ledger audit verify` compares every current row with its latest state: a row
edited, added or removed behind the ledger's back (`update app_user set role='admin'`) is named.

Records written before this module existed carry the same facts in older shapes (a firm's fields at the top of the
payload; a user's role without the active flag); `state_from_record` reads those too.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, select, text
from sqlmodel import SQLModel

import ledger.db.models  # noqa: F401 - the tables whose columns the states list


@dataclass(frozen=True)
class StateTable:
    table: str
    entity: str  # audit_log.entity of its records
    key: str  # the column whose value is the record's entity_id


STATE_TABLES: tuple[StateTable, ...] = (
    StateTable("app_user", "user", "name"),
    StateTable("institution", "institution", "code"),
    StateTable("enterprise", "enterprise", "uscc"),
    StateTable("tool", "tool", "code"),
    StateTable("pending_command", "pending_command", "id"),
)
BY_ENTITY = {t.entity: t for t in STATE_TABLES}
BY_TABLE = {t.table: t for t in STATE_TABLES}
_SKIPPED = {"audit_id"}  # surrogate ids of firms and banks are not facts; the key column is
# Legacy record shapes: which actions of which entity carried a state before the "state" key existed.
_LEGACY_ACTIONS = {
    "enterprise": {"create", "update"},
    "institution": {"create", "update"},
    "user": {"create", "update", "disable"},
    "tool": {"create", "update"},
}


@functools.cache
def state_columns(table: str) -> tuple[str, ...]:
    """Every column of the table but surrogate ids (a new column is covered without a change here)."""
    columns = SQLModel.metadata.tables[table].columns
    spec = BY_TABLE[table]
    skip = _SKIPPED | ({"id"} if spec.key != "id" else set())
    names = tuple(c.name for c in columns if c.name not in skip)
    if table == "pending_command":  # the content is fixed by its sha256 (an import batch can be megabytes)
        names = tuple("payload_sha256" if n == "payload" else n for n in names)
    return names


def _plain(value: Any, is_bool: bool) -> Any:
    if value is None:
        return None
    if is_bool:
        return bool(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def payload_sha256(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


@functools.cache
def _column_kinds(table: str) -> tuple[tuple[str, bool], ...]:
    columns = SQLModel.metadata.tables[table].columns
    return tuple(
        (name, name != "payload_sha256" and isinstance(columns[name].type, Boolean))
        for name in state_columns(table)
    )


def _row_state(table: str, row: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, is_bool in _column_kinds(table):
        if name == "payload_sha256":
            out[name] = payload_sha256(str(row["payload"]))
        else:
            out[name] = _plain(row[name], is_bool)
    return out


def _rates(conn: Connection, code: str | None = None) -> dict[str, list[list[Any]]]:
    query = "SELECT tool_code, effective_on, tenor_months, rate_ppm FROM tool_rate"
    params: dict[str, Any] = {}
    if code is not None:
        query += " WHERE tool_code = :code"
        params["code"] = code
    out: dict[str, list[list[Any]]] = {}
    for tool_code, day, tenor, ppm in conn.execute(text(query), params):
        out.setdefault(str(tool_code), []).append(
            [str(tool_code), _plain(day, False)[:10], int(tenor), int(ppm)]
        )
    return {k: sorted(v) for k, v in out.items()}


def current_state(conn: Connection, table: str, key: Any) -> dict[str, Any]:
    """The row's state as the database holds it now (written into the record of the change just made)."""
    spec = BY_TABLE[table]
    t = SQLModel.metadata.tables[table]
    row = conn.execute(select(t).where(t.c[spec.key] == key)).mappings().one()
    state = _row_state(table, row)
    if table == "tool":
        state["rates"] = _rates(conn, str(key)).get(str(key), [])
    return state


def current_states(
    conn: Connection, table: str, keys: Collection[str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key as text, state) for every row (or only the rows of `keys`), streamed."""
    spec = BY_TABLE[table]
    t = SQLModel.metadata.tables[table]
    rates = _rates(conn) if table == "tool" else {}
    queries = [select(t).execution_options(yield_per=5000)]
    if keys is not None:
        typed = [int(k) for k in keys] if spec.key == "id" else list(keys)
        queries = [select(t).where(t.c[spec.key].in_(typed[i : i + 500])) for i in range(0, len(typed), 500)]
    for query in queries:
        for row in conn.execute(query).mappings():
            state = _row_state(table, row)
            key = str(row[spec.key])
            if table == "tool":
                state["rates"] = rates.get(key, [])
            yield key, state


def state_from_record(
    entity: str, action: str, payload_text: str, previous: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The state a record says its row has after it, or None when the record is not a state record."""
    if entity not in BY_ENTITY:
        return None
    if '"state"' not in payload_text and action not in _LEGACY_ACTIONS.get(entity, ()):
        return None
    payload = json.loads(payload_text)
    if isinstance(payload.get("state"), dict):
        return dict(payload["state"])
    if entity == "user":  # legacy: create/update made the user active with a role; disable kept the role
        base = dict(previous or {})
        if action == "disable":
            return {**base, "name": payload.get("name"), "active": False}
        return {**base, "name": payload.get("name"), "role": payload.get("role"), "active": True}
    if entity == "tool":  # legacy: the row and its rates, as the state is now
        return {k: v for k, v in payload.items() if k != "previous"}
    return {k: v for k, v in payload.items() if k != "previous"}  # enterprise / institution


def differs(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """The first column whose current value is not the recorded one (compared as canonical JSON values when they
    are not simply equal); a recorded state from before a column existed is compared on the columns it has."""
    for name, value in recorded.items():
        if name not in current or current[name] == value:
            continue
        if json.dumps(current[name], sort_keys=True, default=str) != json.dumps(
            value, sort_keys=True, default=str
        ):
            return name
    return None
