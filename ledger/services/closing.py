"""Month-end close (月结): a closed month is frozen for bookings, reversals and repayments dated in it.

Every event has an effective date (drawn_on, a reversal's or repayment's `on`, a rollover's date), which must fall
in an open month, and every figure as of a date reads effective dates: a correction made after the close lands in
a later month, so nothing as of a closed month-end changes. The close records the audit chain's head (an anchor).
A month to close lies from 1990-01 (ledger.domain.dates) to December of the current year, or to the last month
with a drawdown if that is later.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, insert, select, text
from sqlmodel import col

from ledger.db.models import MonthClose
from ledger.domain.dates import month_key, parse_month
from ledger.domain.errors import RuleViolation, ValidationError
from ledger.services.audit import begin_audit


def closed_months(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(select(col(MonthClose.month)))}


def ensure_open(conn: Connection, day: date, what: str, closed: set[str] | None = None) -> None:
    months = closed if closed is not None else closed_months(conn)
    if month_key(day) in months:
        raise RuleViolation(f"{what}={day.isoformat()}: {month_key(day)} 已月结,不得登记 (month is closed)")


def _last_data_month(conn: Connection) -> str:
    last = conn.execute(text("SELECT MAX(drawn_on) FROM drawdown")).scalar()
    return month_key(last if isinstance(last, date) else date.fromisoformat(str(last))) if last else ""


def close_month(conn: Connection, actor: str, month: str) -> None:
    try:
        year, mon = parse_month(month)
    except ValueError as exc:
        raise ValidationError.single("month", month, str(exc)) from exc
    key = f"{year:04d}-{mon:02d}"
    latest = max(f"{date.today().year:04d}-12", _last_data_month(conn))
    if key > latest:  # a month past the current year with nothing in it would stay closed forever
        raise ValidationError.single(
            "month", month, f"不得晚于 {latest} (at most the current year or the last month with drawdowns)"
        )
    if key in closed_months(conn):
        raise RuleViolation(f"month={key}: 已月结 (already closed)")
    # The head at the close, an anchor: `audit verify` holds the chain to it, the month's reports print it.
    audit = begin_audit(conn, actor, "close", "month", key, {"month": key})
    audit.payload["head"] = [audit.id - 1, audit.prev_hash]
    audit.digest.add("month_close", {"month": key})
    conn.execute(insert(MonthClose).values(month=key, audit_id=audit.id))
    audit.commit(conn)
