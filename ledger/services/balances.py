"""Outstanding balances (余额) as of any date, computed in SQL from bookings and events.

The drawdown table gives the base (drawn, not yet at booked maturity); the far smaller event table corrects it for
rollovers, repayments and reversals. Events are aggregated once per drawdown, so this stays one pass at 1M rows.
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
       MAX(CASE WHEN kind = 'reversal' THEN 1 ELSE 0 END) AS reversed,
       SUM(CASE WHEN kind = 'repayment' AND event_on <= :as_of THEN amount_fen ELSE 0 END) AS repaid_fen,
       MAX(CASE WHEN kind = 'rollover' AND event_on <= :as_of THEN new_maturity_on END) AS rolled_to
FROM drawdown_event GROUP BY drawdown_id
"""


def outstanding_sql(where: str = "") -> str:
    """SQL for balances by tool as of :as_of; `where` adds conditions on d (drawdown)."""
    return f"""
SELECT d.tool_code, COUNT(*) AS n, SUM(d.amount_fen - COALESCE(ev.repaid_fen, 0)) AS fen
FROM drawdown d LEFT JOIN ({EVENTS_AS_OF}) ev ON ev.drawdown_id = d.id
WHERE d.drawn_on <= :as_of
  AND COALESCE(ev.rolled_to, d.maturity_on) > :as_of
  AND COALESCE(ev.reversed, 0) = 0
  AND d.amount_fen > COALESCE(ev.repaid_fen, 0)
  {where}
GROUP BY d.tool_code ORDER BY d.tool_code
"""


def outstanding(conn: Connection, as_of: date, tool_code: str | None = None) -> list[Outstanding]:
    where = ""
    params: dict[str, object] = {"as_of": as_of}
    if tool_code:
        where = "AND d.tool_code = :tool"
        params["tool"] = tool_code
    rows = conn.execute(text(outstanding_sql(where)), params).all()
    return [Outstanding(r[0], int(r[1]), int(r[2] or 0)) for r in rows]
