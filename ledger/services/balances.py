"""Outstanding balances (余额) as of any date, computed in SQL from bookings and events.

The drawdown table gives the base (drawn, not yet at booked maturity); the far smaller event table corrects it for
rollovers, repayments and reversals, each from its effective date (event_on) on: a drawdown reversed in July is
still outstanding as of June 30, so a closed month's balances never change. Events are aggregated once per drawdown, so this stays one pass at 1M rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, text

from ledger.domain.money import fen_to_yuan


@dataclass(frozen=True)
class Outstanding:
    tool_code: str
    drawdowns: int
    amount_fen: int

    @property
    def amount(self) -> Decimal:
        return fen_to_yuan(self.amount_fen)


EVENTS_AS_OF = """
SELECT drawdown_id,
       MAX(CASE WHEN kind = 'reversal' AND event_on <= :as_of THEN 1 ELSE 0 END) AS reversed,
       SUM(CASE WHEN kind = 'repayment' AND event_on <= :as_of THEN amount_fen ELSE 0 END) AS repaid_fen,
       MAX(CASE WHEN kind = 'rollover' AND event_on <= :as_of THEN new_maturity_on END) AS rolled_to
FROM drawdown_event GROUP BY drawdown_id
"""


def outstanding_sql(where: str = "") -> str:
    """SQL for balances by tool as of :as_of; `where` adds conditions on d (drawdown).

    Two branches: drawdowns not yet at their booked maturity (an index-only range scan of
    ix_drawdown_maturity_cover) and those past it that a rollover keeps alive (found from the event table).
    Repayments and reversals then come off through the per-drawdown event aggregate.
    """
    return f"""
WITH ev AS ({EVENTS_AS_OF})
SELECT x.tool_code, COUNT(*) AS n, SUM(x.amount_fen - COALESCE(ev.repaid_fen, 0)) AS fen
FROM (
    SELECT d.id, d.tool_code, d.amount_fen FROM drawdown d
    WHERE d.maturity_on > :as_of AND d.drawn_on <= :as_of {where}
    UNION ALL
    SELECT d.id, d.tool_code, d.amount_fen FROM ev JOIN drawdown d ON d.id = ev.drawdown_id
    WHERE d.maturity_on <= :as_of AND ev.rolled_to > :as_of AND d.drawn_on <= :as_of {where}
) x
LEFT JOIN ev ON ev.drawdown_id = x.id
WHERE COALESCE(ev.reversed, 0) = 0 AND x.amount_fen > COALESCE(ev.repaid_fen, 0)
GROUP BY x.tool_code ORDER BY x.tool_code
"""


def outstanding(conn: Connection, as_of: date, tool_code: str | None = None) -> list[Outstanding]:
    where = ""
    params: dict[str, object] = {"as_of": as_of}
    if tool_code:
        where = "AND d.tool_code = :tool"
        params["tool"] = tool_code
    rows = conn.execute(text(outstanding_sql(where)), params).all()
    return [Outstanding(r[0], int(r[1]), int(r[2] or 0)) for r in rows]
