"""The controls every write path applies to a batch of drawdowns: annual quota, balance cap, authority limit.

One implementation, batch-shaped (TigerBeetle's `create_transfers`): `ledger book` is a batch of one, an import
or the demo a batch of many, approval replays its batch through it too. Each drawdown is judged by the policy in
force on its own date (ledger.services.policy). Within a batch the drawdowns admitted so far count, so a file
cannot pass its quota row by row against the ledger alone.

- Annual quota (`tools.CODE.annual_quota_yuan`): the tool's live (not reversed) drawdowns of the calendar year
  plus this one must stay within it. A breach is the row's error.
- Balance cap (`tools.CODE.balance_cap_yuan`): the tool's outstanding balance on the drawdown's date, this one and
  the batch's earlier ones included, must stay within it. A breach is the row's error.
- Authority limit (`maker_checker.default_limit_yuan`, `maker_checker.tools.CODE`): a drawdown above it is not an
  error but needs a second person: `above_limit` lists them, and the caller queues the whole batch for approval.

The caller holds the ledger's write lock (audit.serialise_writes) while it checks and writes, so two sessions
cannot both see the same room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, and_, exists, func, select

from ledger.db.models import Drawdown, DrawdownEvent
from ledger.domain.errors import FieldProblem
from ledger.domain.money import fen_to_yuan, yuan_to_fen
from ledger.services.balances import outstanding
from ledger.services.policy import PolicyBook

_D = Drawdown.__table__  # type: ignore[attr-defined]
_E = DrawdownEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AboveLimit:
    tool_code: str
    amount_fen: int
    limit_fen: int


@dataclass
class Controls:
    conn: Connection
    policy: PolicyBook
    above_limit: list[AboveLimit] = field(default_factory=list)
    _used: dict[tuple[str, int], int] = field(default_factory=dict)
    _balance: dict[tuple[str, date], int] = field(default_factory=dict)
    _batch: dict[str, list[tuple[date, date, int]]] = field(
        default_factory=dict
    )  # capped tools' admitted rows

    def admit(
        self, tool_code: str, drawn_on: date, maturity_on: date, amount_fen: int, *, approved: bool = False
    ) -> FieldProblem | None:
        """Judges one drawdown after the batch's earlier ones; returns its problem, or None and counts it.
        `approved`: a checker is approving the batch, so the authority limit has been met."""
        config = self.policy.config_on(drawn_on)
        tool = config.catalogue.get(tool_code)
        if tool.annual_quota_yuan is not None:
            key = (tool_code, drawn_on.year)
            used = self._used.get(key)
            if used is None:
                used = self._used[key] = self._year_used(tool_code, drawn_on.year)
            quota = yuan_to_fen(tool.annual_quota_yuan)
            if used + amount_fen > quota:
                return FieldProblem(
                    "amount",
                    str(fen_to_yuan(amount_fen)),
                    f"超出{tool.name}{drawn_on.year}年度额度:已用{fen_to_yuan(used)}元,额度{fen_to_yuan(quota)}元 "
                    f"(annual quota exceeded: tools.{tool_code}.annual_quota_yuan)",
                )
        if tool.balance_cap_yuan is not None:
            cap = yuan_to_fen(tool.balance_cap_yuan)
            balance = self._balance_on(tool_code, drawn_on)
            if balance + amount_fen > cap:
                return FieldProblem(
                    "amount",
                    str(fen_to_yuan(amount_fen)),
                    f"超出{tool.name}余额上限:{drawn_on}余额{fen_to_yuan(balance)}元,上限{fen_to_yuan(cap)}元 "
                    f"(balance cap exceeded: tools.{tool_code}.balance_cap_yuan)",
                )
            self._batch.setdefault(tool_code, []).append((drawn_on, maturity_on, amount_fen))
        if tool.annual_quota_yuan is not None:
            self._used[(tool_code, drawn_on.year)] += amount_fen
        limit = config.approval_limit(tool_code)
        if not approved and limit is not None and amount_fen > yuan_to_fen(limit):
            self.above_limit.append(AboveLimit(tool_code, amount_fen, yuan_to_fen(limit)))
        return None

    def _year_used(self, tool_code: str, year: int) -> int:
        reversed_ = exists().where(and_(_E.c.drawdown_id == _D.c.id, _E.c.kind == "reversal"))
        return int(
            self.conn.execute(
                select(func.coalesce(func.sum(_D.c.amount_fen), 0)).where(
                    _D.c.tool_code == tool_code,
                    _D.c.drawn_on >= date(year, 1, 1),
                    _D.c.drawn_on < date(year + 1, 1, 1),
                    ~reversed_,
                )
            ).scalar_one()
        )

    def _balance_on(self, tool_code: str, day: date) -> int:
        key = (tool_code, day)
        ledger = self._balance.get(key)
        if ledger is None:
            ledger = self._balance[key] = sum(o.amount_fen for o in outstanding(self.conn, day, tool_code))
        return ledger + sum(
            fen for drawn, maturity, fen in self._batch.get(tool_code, ()) if drawn <= day < maturity
        )
