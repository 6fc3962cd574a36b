"""Events on a booked drawdown — reversal (冲正), repayment (收回), rollover (展期) — never edits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlmodel import col

from ledger.db.models import Drawdown, DrawdownEvent
from ledger.domain.dates import add_months, parse_date
from ledger.domain.errors import NotFound, RuleViolation, ValidationError
from ledger.domain.money import MoneyError, fen_to_yuan, parse_yuan, yuan_to_fen
from ledger.services.audit import begin_audit
from ledger.services.closing import ensure_open
from ledger.services.policy import PolicyBook


@dataclass(frozen=True)
class DrawdownState:
    id: int
    tool_code: str
    drawn_on: date
    maturity_on: date  # current, after rollovers
    amount_fen: int
    repaid_fen: int
    reversed: bool
    rollovers: int

    @property
    def remaining_fen(self) -> int:
        return self.amount_fen - self.repaid_fen

    def outstanding_on(self, day: date) -> bool:
        return not self.reversed and self.drawn_on <= day < self.maturity_on and self.remaining_fen > 0


def _d(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def drawdown_state(conn: Connection, drawdown_id: int) -> DrawdownState:
    row = conn.execute(
        select(
            col(Drawdown.id),
            col(Drawdown.tool_code),
            col(Drawdown.drawn_on),
            col(Drawdown.maturity_on),
            col(Drawdown.amount_fen),
        ).where(col(Drawdown.id) == drawdown_id)
    ).first()
    if row is None:
        raise NotFound(f"drawdown {drawdown_id}: 无此笔 (no such drawdown)")
    maturity, repaid, reversed_, rollovers = _d(row[3]), 0, False, 0
    for kind, amount, new_maturity in conn.execute(
        select(col(DrawdownEvent.kind), col(DrawdownEvent.amount_fen), col(DrawdownEvent.new_maturity_on))
        .where(col(DrawdownEvent.drawdown_id) == drawdown_id)
        .order_by(col(DrawdownEvent.id))
    ):
        if kind == "reversal":
            reversed_ = True
        elif kind == "repayment":
            repaid += int(amount or 0)
        elif kind == "rollover" and new_maturity is not None:
            maturity, rollovers = _d(new_maturity), rollovers + 1
    return DrawdownState(
        drawdown_id, str(row[1]), _d(row[2]), maturity, int(row[4]), repaid, reversed_, rollovers
    )


def _write_event(
    conn: Connection, actor: str, action: str, row: dict[str, Any], extra: dict[str, Any] | None = None
) -> int:
    audit = begin_audit(conn, actor, action, "drawdown", row["drawdown_id"], {**(extra or {}), "event": row})
    audit.digest.add("drawdown_event", row)
    if row["kind"] == "reversal":
        audit.share.reverse(row["drawdown_id"])
    new_id = int(conn.execute(insert(DrawdownEvent).values(**row, audit_id=audit.id)).inserted_primary_key[0])  # type: ignore[index]
    audit.commit(conn)
    return new_id


def check_reversal(state: DrawdownState, reason: str, day: date) -> None:
    """What a reversal must satisfy before it is booked or queued: a reason, not already reversed, an effective
    date on or after the drawdown's (its month being open is checked by `reverse`, inside the write)."""
    if not (reason or "").strip():
        raise ValidationError.single("reason", reason, "冲正须说明原因 (a reversal needs a reason)")
    if state.reversed:
        raise RuleViolation(f"drawdown {state.id}: 已冲正 (already reversed)")
    if day < state.drawn_on:
        raise ValidationError.single(
            "on",
            day,
            f"冲正生效日不得早于发放日{state.drawn_on} (a reversal takes effect on or after drawn_on)",
        )


def reverse(
    conn: Connection,
    actor: str,
    drawdown_id: int,
    reason: str,
    on: date | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Voids a booking made in error, from its effective date `on` (default today) on: figures as of earlier dates
    keep it, so a closed month never changes; the effective date must be in an open month."""
    state = drawdown_state(conn, drawdown_id)
    day = on or date.today()
    check_reversal(state, reason, day)
    ensure_open(conn, day, "reversal date (on)")
    row = {
        "drawdown_id": drawdown_id,
        "kind": "reversal",
        "event_on": day,
        "amount_fen": None,
        "new_maturity_on": None,
        "reason": reason.strip(),
    }
    return _write_event(conn, actor, "reverse", row, extra)


def repay(
    conn: Connection, actor: str, drawdown_id: int, on: Any, amount: Any = None, reason: str = ""
) -> int:
    """Early repayment, full (default: what remains) or partial."""
    try:
        day = parse_date(on)
    except ValueError as exc:
        raise ValidationError.single("on", on, str(exc)) from exc
    state = drawdown_state(conn, drawdown_id)
    if state.reversed:
        raise RuleViolation(f"drawdown {drawdown_id}: 已冲正,不能收回 (reversed)")
    if state.remaining_fen <= 0:
        raise RuleViolation(f"drawdown {drawdown_id}: 已全部收回 (already repaid in full)")
    if not state.drawn_on <= day <= state.maturity_on:
        raise ValidationError.single(
            "on", day, f"收回日应在{state.drawn_on}至{state.maturity_on}之间 (between drawn_on and maturity)"
        )
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        fen = state.remaining_fen
    else:
        try:
            fen = yuan_to_fen(parse_yuan(amount))
        except MoneyError as exc:
            raise ValidationError.single("amount", amount, str(exc)) from exc
        if fen <= 0 or fen > state.remaining_fen:
            raise ValidationError.single(
                "amount",
                amount,
                f"收回金额应在0.01至{fen_to_yuan(state.remaining_fen)}之间 (at most what remains)",
            )
    ensure_open(conn, day, "on")
    row = {
        "drawdown_id": drawdown_id,
        "kind": "repayment",
        "event_on": day,
        "amount_fen": fen,
        "new_maturity_on": None,
        "reason": (reason or "").strip(),
    }
    return _write_event(conn, actor, "repay", row)


def rollover(
    conn: Connection, policy: PolicyBook, actor: str, drawdown_id: int, to: Any, reason: str = ""
) -> int:
    """展期: a new maturity, at most one term further, as often as the tool allows (special tools: twice)."""
    try:
        new_maturity = parse_date(to)
    except ValueError as exc:
        raise ValidationError.single("to", to, str(exc)) from exc
    state = drawdown_state(conn, drawdown_id)
    tool = policy.config_on(state.maturity_on).catalogue.get(state.tool_code)
    if state.reversed or state.remaining_fen <= 0:
        raise RuleViolation(f"drawdown {drawdown_id}: 已冲正或已收回,不能展期 (reversed or repaid)")
    if state.rollovers >= tool.max_rollovers:
        raise RuleViolation(
            f"drawdown {drawdown_id}: {tool.name}至多展期{tool.max_rollovers}次,已展期{state.rollovers}次 (rollover limit)"
        )
    if new_maturity <= state.maturity_on:
        raise ValidationError.single(
            "to", new_maturity, f"展期后到期日须晚于{state.maturity_on} (must extend)"
        )
    term = tool.max_term_months or 12
    if new_maturity > add_months(state.maturity_on, term):
        raise ValidationError.single(
            "to", new_maturity, f"每次展期不超过{term}个月 (each rollover at most one term)"
        )
    ensure_open(conn, state.maturity_on, "rollover date (current maturity)")
    row = {
        "drawdown_id": drawdown_id,
        "kind": "rollover",
        "event_on": state.maturity_on,
        "amount_fen": None,
        "new_maturity_on": new_maturity,
        "reason": (reason or "").strip(),
    }
    return _write_event(conn, actor, "rollover", row)


def remaining_yuan(state: DrawdownState) -> Decimal:
    return fen_to_yuan(state.remaining_fen)
