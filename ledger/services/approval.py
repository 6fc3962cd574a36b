"""Maker-checker (四眼原则): what one person may not do alone waits for a second person.

Queued for approval: a drawdown, a reversal or an import whose central-bank amount is above the authority limit in
force on its date (`maker_checker.*` policy), and every policy change. The maker's request is validated at once (so
typos surface), stored as a pending_command row with its canonical JSON payload, and its content's sha256 recorded
in the chain with the row's whole state. Nothing pending counts anywhere (balances, rules, reports).

A different user approves — a checker; for a policy change a checker or a second admin. Approval first checks that
the stored item is still exactly what was submitted (its payload's sha256 and its columns against the chain's
record): an item edited in the database is refused, never booked. The request then runs through the normal path
again (every rule and control, at approval time), written in the checker's name with the maker named in the
record. If a rule fails now, the approval is refused with the rule's message, the item stays pending, and the
failed attempt is audited. Rejection needs a reason. Every step is an audit record.

pending_command is a mutable table (its status moves pending → approved / rejected); each change records its state,
and the row is locked (`FOR UPDATE`) while it is decided so two checkers cannot both approve it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, insert, select, text, update

from ledger.config import Config, ConfigError, is_policy_key, parse_policy_value
from ledger.db.models import PendingCommand
from ledger.domain.dates import parse_date
from ledger.domain.errors import NotFound, RuleViolation, ValidationError
from ledger.domain.money import fen_to_yuan, yuan_to_fen
from ledger.services import booking, events, policy
from ledger.services.audit import append_audit, append_state, serialise_writes, utc_now
from ledger.services.audit_state import payload_sha256, state_from_record
from ledger.services.canonical import canonical_json
from ledger.services.closing import ensure_open
from ledger.services.controls import Controls
from ledger.services.drawdown_rules import BookingRequest
from ledger.services.users import Refused, require

_PENDING: Table = PendingCommand.__table__  # type: ignore[attr-defined]

STATUS_LABELS = {"pending": "待复核", "approved": "已批准", "rejected": "已拒绝"}
ACTION_LABELS = {"book": "放款", "reverse": "冲正", "import": "导入", "policy": "政策变更"}

# Executors of queued actions that live above this layer (the importer registers "import"): (conn, policy, checker,
# item) → the id of what was written. Looked up at approval time.
Executor = Callable[[Connection, "policy.PolicyBook", str, "PendingItem"], int]
EXECUTORS: dict[str, Executor] = {}


@dataclass(frozen=True)
class Queued:
    """What a write returns when it needs a checker: nothing was booked yet."""

    pending_id: int
    action: str
    tool_code: str
    amount_fen: int
    limit_fen: int
    warnings: tuple[str, ...] = ()

    pending = True  # faces test `getattr(result, "pending", False)` to tell it from a Booked

    @property
    def id(self) -> int:
        """The pending item's id (not a drawdown id): what `ledger approve ID` takes."""
        return self.pending_id

    def __str__(self) -> str:
        return self.message

    @property
    def message(self) -> str:
        what = ACTION_LABELS.get(self.action, self.action)
        if self.action == "policy":
            return f"{what}已提交复核,待复核编号 {self.pending_id} (policy change pending approval)"
        return (
            f"金额 {fen_to_yuan(self.amount_fen)} 元超过授权限额 {fen_to_yuan(self.limit_fen)} 元:"
            f"{what}已提交复核,待复核编号 {self.pending_id} (above the authority limit: pending approval)"
        )


@dataclass(frozen=True)
class PendingItem:
    id: int
    action: str
    tool_code: str
    amount_fen: int
    maker: str
    created_at: str
    status: str
    checker: str | None
    decided_at: str | None
    decision_reason: str
    result_id: int | None
    payload: dict[str, Any]
    intact: bool = True  # the stored item is what the chain says was submitted / decided
    problem: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


def limit_fen(config: Config, tool_code: str) -> int | None:
    limit = config.approval_limit(tool_code)
    return None if limit is None else yuan_to_fen(limit)


def request_payload(request: BookingRequest) -> dict[str, Any]:
    """The maker's request as plain JSON values (Decimal and dates as text): replayed as is at approval."""
    data = asdict(request)
    try:
        return dict(json.loads(canonical_json(data)))
    except TypeError as exc:
        raise ValidationError.single("extra", str(request.extra)[:60], f"无法保存的字段值 ({exc})") from None


def queue(
    conn: Connection,
    actor: str,
    action: str,
    payload: dict[str, Any],
    tool_code: str,
    amount_fen: int,
    summary: dict[str, Any] | None = None,
) -> int:
    """Stores a request for a checker; the chain records its state with the payload's sha256 (and, for small
    items, the payload itself, for auditors reading the trail)."""
    text_payload = canonical_json(payload)
    statement = insert(_PENDING).values(
        action=action,
        payload=text_payload,
        tool_code=tool_code,
        amount_fen=amount_fen,
        maker=actor,
        created_at=utc_now(),
        status="pending",
    )
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    new_id = int(key[0])
    extra: dict[str, Any] = {"summary": summary or {}}
    if len(text_payload) <= 20_000:
        extra["payload"] = payload
    append_state(conn, actor, "submit", "pending_command", new_id, extra)
    return new_id


def book_or_queue(
    conn: Connection, book: policy.PolicyBook, actor: str, request: BookingRequest
) -> booking.Booked | Queued:
    """Validates the request and applies the controls; books it at once, or queues it above the authority limit."""
    serialise_writes(conn)  # before the duplicate-bill and quota checks, so concurrent bookers queue
    prepared = booking.prepare(conn, book, request)
    controls = Controls(conn, book)
    booking.admit(controls, prepared)
    if not controls.above_limit:
        return booking.insert_prepared(conn, actor, prepared)
    above = controls.above_limit[0]
    pending_id = queue(
        conn,
        actor,
        "book",
        {"request": request_payload(request)},
        prepared.tool.code,
        above.amount_fen,
        {"drawn_on": prepared.drawn_on.isoformat()},
    )
    return Queued(
        pending_id, "book", prepared.tool.code, above.amount_fen, above.limit_fen, prepared.warnings
    )


def reverse_or_queue(
    conn: Connection,
    book: policy.PolicyBook,
    actor: str,
    drawdown_id: int,
    reason: str,
    on: date | None = None,
) -> int | Queued:
    """Reverses at once, or queues the reversal of a drawdown above its tool's limit (a checker approves)."""
    serialise_writes(conn)
    state = events.drawdown_state(conn, drawdown_id)
    day = on or date.today()
    limit = limit_fen(book.config_on(state.drawn_on), state.tool_code)
    if limit is None or state.amount_fen <= limit:
        return events.reverse(conn, actor, drawdown_id, reason, day)
    events.check_reversal(state, reason, day)
    ensure_open(conn, day, "reversal date (on)")
    c = _PENDING.c
    for other_id, other_payload in conn.execute(
        select(c.id, c.payload).where(c.status == "pending", c.action == "reverse")
    ):
        if json.loads(other_payload).get("drawdown_id") == drawdown_id:
            raise RuleViolation(
                f"drawdown {drawdown_id}: 冲正已提交复核,待复核编号 {other_id} (already pending)"
            )
    payload = {"drawdown_id": drawdown_id, "on": day.isoformat(), "reason": reason.strip()}
    pending_id = queue(conn, actor, "reverse", payload, state.tool_code, state.amount_fen)
    return Queued(pending_id, "reverse", state.tool_code, state.amount_fen, limit)


def submit_policy(
    conn: Connection,
    book: policy.PolicyBook,
    actor: str,
    key: str,
    value_text: str,
    effective_from: date,
    reason: str,
) -> Queued:
    """`ledger policy set`: validated now (the key, the value, the whole policy on every date it would apply),
    applied only when a second person approves."""
    if not is_policy_key(key):
        raise ValidationError.single(
            "key", key, "未知政策项 (unknown policy key; `ledger policy show` lists them)"
        )
    if not (reason or "").strip():
        raise ValidationError.single("reason", reason, "政策变更须说明原因 (a policy change needs a reason)")
    if effective_from < policy.POLICY_EPOCH:
        raise ValidationError.single("from", effective_from, f"生效日不得早于 {policy.POLICY_EPOCH}")
    ensure_open(conn, effective_from, "from (the change's effective date)")
    value = parse_policy_value(key, value_text)
    try:
        policy.validate_change(book, key, value, effective_from)
    except ConfigError as exc:
        raise ValidationError.single("value", value_text, str(exc)) from None
    payload = {
        "key": key,
        "value": value,
        "effective_from": effective_from.isoformat(),
        "reason": reason.strip(),
    }
    pending_id = queue(conn, actor, "policy", payload, "", 0, {"key": key})
    return Queued(pending_id, "policy", "", 0, 0)


_LIST_COLUMNS = [c for c in _PENDING.c if c.name != "payload"]


def _chain_states(conn: Connection, ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """The latest state the chain records for each pending item (or the given ones)."""
    query = "SELECT entity_id, action, payload FROM audit_log WHERE entity = 'pending_command'"
    params: dict[str, Any] = {}
    if ids is not None and len(ids) == 1:
        query += " AND entity_id = :eid"
        params["eid"] = str(ids[0])
    out: dict[int, dict[str, Any]] = {}
    for entity_id, action, payload in conn.execute(text(query + " ORDER BY id"), params):
        try:
            key = int(entity_id)
        except ValueError:
            continue
        state = state_from_record("pending_command", str(action), str(payload), out.get(key))
        if state is not None:
            out[key] = state
    return out


def _check_against_chain(row: dict[str, Any], recorded: dict[str, Any] | None) -> str:
    """Why the stored item is not what the chain holds ('' when it is)."""
    if recorded is None:
        return "审计链中无此事项的记录 (no record of it in the audit chain)"
    if "payload" in row and recorded.get("payload_sha256") != payload_sha256(str(row["payload"])):
        return "内容与提交时记入审计链的不一致 (its content changed since it was submitted)"
    for name in ("action", "tool_code", "amount_fen", "maker", "status", "checker", "result_id"):
        if name in recorded and recorded[name] != row.get(name):
            return f"{name} 与审计链记录不一致 (changed behind the ledger's back)"
    return ""


def _item(row: Any, recorded: dict[str, Any] | None, with_payload: bool) -> PendingItem:
    m = dict(row._mapping)
    problem = _check_against_chain(m, recorded)
    payload = json.loads(m["payload"]) if with_payload and not problem else {}
    return PendingItem(
        int(m["id"]),
        m["action"],
        m["tool_code"],
        int(m["amount_fen"]),
        m["maker"],
        m["created_at"],
        m["status"],
        m["checker"],
        m["decided_at"],
        m["decision_reason"] or "",
        m["result_id"],
        payload,
        intact=not problem,
        problem=problem,
    )


def list_pending(conn: Connection, status: str | None = "pending", limit: int = 500) -> list[PendingItem]:
    """Oldest first, each checked against the chain (an edited item is shown as such, never as its columns say).
    `status=None` lists every decision too (capped: the list is for people, not export)."""
    query = select(*_LIST_COLUMNS).order_by(_PENDING.c.id).limit(limit)
    if status is not None:
        query = query.where(_PENDING.c.status == status)
    rows = conn.execute(query).all()
    states = _chain_states(conn) if rows else {}
    out = []
    for r in rows:
        recorded = states.get(int(r._mapping["id"]))
        # the payload's hash is checked when the item is shown or decided (import batches are large)
        out.append(_item(r, recorded, False))
    return out


def get_pending(conn: Connection, pending_id: int, *, lock: bool = False) -> PendingItem:
    query = select(_PENDING).where(_PENDING.c.id == pending_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(
            f"pending={pending_id}: 无此待复核事项 (no such pending item; `ledger pending` lists them)"
        )
    return _item(row, _chain_states(conn, [pending_id]).get(pending_id), True)


def _lock_pending(conn: Connection, pending_id: int, checker: str, verb: str) -> PendingItem:
    item = get_pending(conn, pending_id, lock=True)
    if not item.intact:
        raise RuleViolation(
            f"pending={pending_id}: {item.problem};不能{verb} (refused: the item was tampered with)"
        )
    if item.status != "pending":
        raise RuleViolation(
            f"pending={pending_id}: 已{item.status_label}({item.checker},{item.decided_at}),不能再{verb} (already decided)"
        )
    if item.maker == checker:
        raise Refused(
            f"pending={pending_id}: 经办人 {checker!r} 不能复核自己提交的事项 (maker cannot {verb} own entry)",
            checker,
            "approve",
        )
    require(conn, checker, "approve_policy" if item.action == "policy" else "approve")
    return item


def _decide(
    conn: Connection, item: PendingItem, checker: str, status: str, reason: str, result_id: int | None
) -> None:
    conn.execute(
        update(_PENDING)
        .where(_PENDING.c.id == item.id)
        .values(
            status=status,
            checker=checker,
            decided_at=utc_now(),
            decision_reason=reason,
            result_id=result_id,
        )
    )
    append_state(
        conn,
        checker,
        "approve" if status == "approved" else "reject",
        "pending_command",
        item.id,
        {"maker": item.maker, "reason": reason, "result_id": result_id},
    )


def booking_request(item: PendingItem) -> BookingRequest:
    stored = item.payload["request"]
    return BookingRequest(**{f.name: stored.get(f.name) for f in fields(BookingRequest) if f.name in stored})


def approve(
    conn: Connection, book: policy.PolicyBook, checker: str, pending_id: int
) -> tuple[PendingItem, int]:
    """Runs the maker's request through the normal path in the checker's name (the record names the maker) and
    marks the item approved. Returns the item and what was written: the drawdown id (book), the reversal event id
    (reverse), the import's audit record (import) or the policy record's audit id (policy). Raises the rule's own
    error when it fails now; the caller rolls back, so the item stays pending."""
    serialise_writes(conn)
    item = _lock_pending(conn, pending_id, checker, "批准")
    extra = {"maker": item.maker, "pending_id": item.id}
    if item.action == "book":
        result_id = booking.book(conn, book, checker, booking_request(item), extra).id
    elif item.action == "reverse":
        p = item.payload
        result_id = events.reverse(
            conn, checker, int(p["drawdown_id"]), str(p["reason"]), parse_date(p["on"]), extra
        )
    elif item.action == "policy":
        p = item.payload
        day = parse_date(p["effective_from"])
        ensure_open(conn, day, "from (the change's effective date)")
        policy.validate_change(book, p["key"], p["value"], day)
        result_id = policy.record_values(
            conn, checker, {p["key"]: p["value"]}, day, p["reason"], "policy_set", extra
        )
    elif item.action in EXECUTORS:
        result_id = EXECUTORS[item.action](conn, book, checker, item)
    else:
        raise RuleViolation(f"pending={pending_id}: 无法执行的事项 {item.action!r} (unknown action)")
    _decide(conn, item, checker, "approved", "", result_id)
    return item, result_id


def reject(conn: Connection, checker: str, pending_id: int, reason: str) -> PendingItem:
    if not (reason or "").strip():
        raise ValidationError.single("reason", reason, "拒绝须说明原因 (a rejection needs a reason)")
    serialise_writes(conn)
    item = _lock_pending(conn, pending_id, checker, "拒绝")
    _decide(conn, item, checker, "rejected", reason.strip()[:500], None)
    return item


def log_failed_approval(conn: Connection, checker: str, pending_id: int, message: str) -> int:
    """The audit record of an approval that a rule stopped (written after the rollback; the item stays pending)."""
    return append_audit(conn, checker, "approve_failed", "pending_command", pending_id, {"message": message})
