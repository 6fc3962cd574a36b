"""Maker-checker (四眼原则): a drawdown or reversal above the authority limit waits for a second person.

Above `Config.approval_limit(tool)` the maker's request is validated (so typos surface at once) and stored as a
pending_command row with its canonical JSON payload; it is not in the drawdown table, so it counts nowhere
(balances, rules, reports) until approved. A different user approves: the maker's request then runs through the
normal booking path (every rule and the quota are checked again, at approval time). If that fails the approval is
refused with the rule's message, the item stays pending (the checker may reject it, or approve later once e.g. the
quota allows) and the failed attempt is audited. Rejection needs a reason. Every step is an audit record.

pending_command is the one mutable ledger-side table (its status moves pending → approved / rejected); each change
is audited, and the row is locked (`FOR UPDATE`) while it is decided so two checkers cannot both approve it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from ledger.config import Config
from ledger.db.models import PendingCommand
from ledger.domain.dates import parse_date
from ledger.domain.errors import NotFound, RuleViolation, ValidationError
from ledger.domain.money import fen_to_yuan, yuan_to_fen
from ledger.services import booking, events
from ledger.services.audit import append_audit, serialise_writes, utc_now
from ledger.services.canonical import canonical_json
from ledger.services.drawdown_rules import BookingRequest
from ledger.services.users import Refused

_PENDING: Table = PendingCommand.__table__  # type: ignore[attr-defined]

STATUS_LABELS = {"pending": "待复核", "approved": "已批准", "rejected": "已拒绝"}


@dataclass(frozen=True)
class Queued:
    """What `Ledger.book` / `Ledger.reverse` return when the amount needs a checker: nothing was booked yet."""

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
        what = "放款" if self.action == "book" else "冲正"
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

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def limit_fen(config: Config, tool_code: str) -> int | None:
    limit = config.approval_limit(tool_code)
    return None if limit is None else yuan_to_fen(Decimal(limit))


def request_payload(request: BookingRequest) -> dict[str, Any]:
    """The maker's request as plain JSON values (Decimal and dates as text): replayed as is at approval."""
    data = asdict(request)
    try:
        return dict(json.loads(canonical_json(data)))
    except TypeError as exc:
        raise ValidationError.single("extra", str(request.extra)[:60], f"无法保存的字段值 ({exc})") from None


def _queue(
    conn: Connection, actor: str, action: str, payload: dict[str, Any], tool_code: str, amount_fen: int
) -> int:
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
    append_audit(
        conn,
        actor,
        "submit",
        "pending_command",
        new_id,
        {
            "action": action,
            "tool_code": tool_code,
            "amount_fen": amount_fen,
            "payload": payload,
        },
    )
    return new_id


def book_or_queue(
    conn: Connection, config: Config, actor: str, request: BookingRequest
) -> booking.Booked | Queued:
    """Validates the request; books it at once, or queues it when its amount is above the tool's limit."""
    serialise_writes(conn)  # before the duplicate-bill and quota checks, so concurrent bookers queue
    prepared = booking.prepare(conn, config, request)
    amount = int(prepared.values["amount_fen"])
    limit = limit_fen(config, prepared.tool.code)
    if limit is None or amount <= limit:
        booking.check_quota(conn, prepared)
        return booking.insert_prepared(conn, actor, prepared)
    pending_id = _queue(
        conn, actor, "book", {"request": request_payload(request)}, prepared.tool.code, amount
    )
    return Queued(pending_id, "book", prepared.tool.code, amount, limit, prepared.warnings)


def reverse_or_queue(
    conn: Connection, config: Config, actor: str, drawdown_id: int, reason: str, on: date | None = None
) -> int | Queued:
    """Reverses at once, or queues the reversal of a drawdown above its tool's limit (a checker approves)."""
    state = events.drawdown_state(conn, drawdown_id)
    limit = limit_fen(config, state.tool_code)
    if limit is None or state.amount_fen <= limit:
        return events.reverse(conn, actor, drawdown_id, reason, on)
    if not (reason or "").strip():
        raise ValidationError.single("reason", reason, "冲正须说明原因 (a reversal needs a reason)")
    if state.reversed:
        raise RuleViolation(f"drawdown {drawdown_id}: 已冲正 (already reversed)")
    c = _PENDING.c
    waiting = conn.execute(
        select(c.id).where(
            c.status == "pending", c.action == "reverse", c.payload.contains(f'"drawdown_id":{drawdown_id},')
        )
    ).first()
    if waiting is not None:
        raise RuleViolation(
            f"drawdown {drawdown_id}: 冲正已提交复核,待复核编号 {waiting[0]} (already pending)"
        )
    payload = {"drawdown_id": drawdown_id, "on": (on or date.today()).isoformat(), "reason": reason.strip()}
    pending_id = _queue(conn, actor, "reverse", payload, state.tool_code, state.amount_fen)
    return Queued(pending_id, "reverse", state.tool_code, state.amount_fen, limit)


def _item(row: Any) -> PendingItem:
    m = row._mapping
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
        json.loads(m["payload"]),
    )


def list_pending(conn: Connection, status: str | None = "pending", limit: int = 500) -> list[PendingItem]:
    """Oldest first; `status=None` lists every decision too (capped: the list is for people, not export)."""
    query = select(_PENDING).order_by(_PENDING.c.id).limit(limit)
    if status is not None:
        query = query.where(_PENDING.c.status == status)
    return [_item(r) for r in conn.execute(query)]


def _lock_pending(conn: Connection, pending_id: int, checker: str, verb: str) -> PendingItem:
    row = conn.execute(select(_PENDING).where(_PENDING.c.id == pending_id).with_for_update()).first()
    if row is None:
        raise NotFound(
            f"pending={pending_id}: 无此待复核事项 (no such pending item; `ledger pending` lists them)"
        )
    item = _item(row)
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
    append_audit(
        conn,
        checker,
        "approve" if status == "approved" else "reject",
        "pending_command",
        item.id,
        {
            "action": item.action,
            "maker": item.maker,
            "reason": reason,
            "result_id": result_id,
            "amount_fen": item.amount_fen,
            "tool_code": item.tool_code,
        },
    )


def approve(conn: Connection, config: Config, checker: str, pending_id: int) -> tuple[PendingItem, int]:
    """Runs the maker's request through the normal path (actor: the maker) and marks the item approved.

    Returns the item and the new drawdown id (book) or reversal event id (reverse). Raises the booking's own
    error when a rule fails now; the caller rolls back, so the item stays pending.
    """
    item = _lock_pending(conn, pending_id, checker, "批准")
    if item.action == "book":
        request = BookingRequest(
            **{
                f.name: item.payload["request"].get(f.name)
                for f in fields(BookingRequest)
                if f.name in item.payload["request"]
            }
        )
        result_id = booking.book(conn, config, item.maker, request).id
    elif item.action == "reverse":
        p = item.payload
        result_id = events.reverse(
            conn, item.maker, int(p["drawdown_id"]), str(p["reason"]), parse_date(p["on"])
        )
    else:  # pragma: no cover - only book and reverse are ever queued
        raise RuleViolation(f"pending={pending_id}: unknown action {item.action!r}")
    _decide(conn, item, checker, "approved", "", result_id)
    return item, result_id


def reject(conn: Connection, checker: str, pending_id: int, reason: str) -> PendingItem:
    if not (reason or "").strip():
        raise ValidationError.single("reason", reason, "拒绝须说明原因 (a rejection needs a reason)")
    item = _lock_pending(conn, pending_id, checker, "拒绝")
    _decide(conn, item, checker, "rejected", reason.strip()[:500], None)
    return item


def log_failed_approval(conn: Connection, checker: str, pending_id: int, message: str) -> int:
    """The audit record of an approval that a rule stopped (written after the rollback; the item stays pending)."""
    return append_audit(conn, checker, "approve_failed", "pending_command", pending_id, {"message": message})
