"""The numbers a month-end report shows, computed in SQL over integer fen columns.

Why a module of its own: the renderer must never see a table, only aggregates and one streamed cursor (the
appendix). Every query here is plain SQL shared by SQLite and PostgreSQL, restricted by tool and date so it runs on
the covering indexes (ix_drawdown_tool_day, ix_drawdown_share); the batch computes the all-tool figures (balances,
maturities) once and hands each tool its row. A drawdown reversed on or before the month end (a drawdown_event of
kind 'reversal', by its effective date) is left out of every figure; one reversed later still counts in this month,
as it does in the ledger's balances as of this month end: the correction shows in the month it takes effect.

Weighted average rates are exact: Σ(amount × rate) over a million rows can overflow SQLite's 64-bit integers, so SQL
sums the amounts per distinct rate (a tool has a handful of rates a year) and Python combines them in Decimal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

from ledger.config import Config
from ledger.db.engine import streamed
from ledger.domain.dates import add_months, month_bounds, parse_month
from ledger.domain.enterprise import SCI_TECH_STATUSES, SIZES
from ledger.domain.errors import ValidationError
from ledger.domain.industry import section_name
from ledger.domain.money import PPM_PER_PERCENT, ppm_to_rate, rate_to_ppm, round_half_up
from ledger.services.balances import EVENTS_AS_OF, outstanding
from ledger.services.canonical import canonical_json

# Not reversed as of :b, the end of the window every query here reads (the report's month end): a reversal counts
# from its effective date (event_on) on, as in ledger.services.balances, so a correction made after the month end
# lands in a later month and an issued report of a closed month never changes.
NOT_REVERSED = (
    "NOT EXISTS (SELECT 1 FROM drawdown_event r WHERE r.drawdown_id = d.id AND r.kind = 'reversal' "
    "AND r.event_on <= :b)"
)


@dataclass(frozen=True)
class Period:
    """A report month and the dates its figures need: the month, the year to date, the next month, the trend."""

    year: int
    month: int

    @classmethod
    def parse(cls, text_value: str) -> Period:
        try:
            year, month = parse_month(text_value)
        except ValueError as exc:
            raise ValidationError.single("month", text_value, str(exc)) from exc
        if not 1900 <= year <= 2999:
            raise ValidationError.single("month", text_value, "年份超出范围 (year out of range)")
        return cls(year, month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return month_bounds(self.year, self.month)[1]

    @property
    def year_first(self) -> date:
        return date(self.year, 1, 1)

    def shifted(self, months: int) -> Period:
        day = add_months(self.first, months)
        return Period(day.year, day.month)

    def trend(self, months: int = 12) -> list[Period]:
        """The `months` months ending with this one, oldest first."""
        return [self.shifted(k) for k in range(-(months - 1), 1)]


@dataclass(frozen=True)
class Totals:
    """Sums over a set of drawdowns: fen, count, distinct borrowers, underlying principal."""

    amount_fen: int = 0
    drawdowns: int = 0
    borrowers: int = 0
    principal_fen: int = 0

    @property
    def leverage(self) -> Decimal | None:
        """Underlying lending per yuan of central-bank money (撬动), 2 decimals; None with no money drawn."""
        if not self.amount_fen:
            return None
        return round_half_up(Decimal(self.principal_fen) / Decimal(self.amount_fen), 2)


@dataclass(frozen=True)
class WeightedRate:
    """Σ weight per distinct rate, combined exactly; `average` is percent rounded half-up to 2 places."""

    parts: tuple[tuple[int, int], ...] = ()  # (rate_ppm, weight_fen)

    @property
    def weight_fen(self) -> int:
        return sum(w for _r, w in self.parts)

    @property
    def exact(self) -> Decimal | None:
        total = self.weight_fen
        if not total:
            return None
        return Decimal(sum(r * w for r, w in self.parts)) / Decimal(total) / PPM_PER_PERCENT

    @property
    def average(self) -> Decimal | None:
        value = self.exact
        return None if value is None else round_half_up(value, 2)


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    month_drawdowns: int
    month_fen: int
    ytd_drawdowns: int
    ytd_fen: int


@dataclass(frozen=True)
class BorrowerRow:
    name: str
    uscc: str
    drawdowns: int
    amount_fen: int


@dataclass(frozen=True)
class Maturing:
    """A count and an amount (fen): a maturity bucket, or one line of the movements."""

    drawdowns: int = 0
    amount_fen: int = 0

    def __add__(self, other: Maturing) -> Maturing:
        return Maturing(self.drawdowns + other.drawdowns, self.amount_fen + other.amount_fen)

    def __sub__(self, other: Maturing) -> Maturing:
        return Maturing(self.drawdowns - other.drawdowns, self.amount_fen - other.amount_fen)


LADDER_MONTHS = 12


@dataclass(frozen=True)
class Movements:
    """How the balance went from the previous month end to this one (one tool, or all of them added up).

    Each drawdown that was outstanding at the opening or drawn in the month leaves by at most one door — reversed
    (a reversal effective in the month), repaid in full, matured — or stays; `repaid` also holds partial
    repayments' amounts (its count is the drawdowns repaid in full; `repaid_partly` counts the others). Rollovers
    move a maturity, not money: `rolled` is both the amount rolled out of its old maturity and into the new one.
    `ledger_opening` and `ledger_closing` are the balances as ledger.services.balances computes them, so `holds`
    checks these movements against the ledger's own definition of the balance, to the fen."""

    opening: Maturing = Maturing()
    drawn: Maturing = Maturing()
    matured: Maturing = Maturing()
    repaid: Maturing = Maturing()
    repaid_partly: int = 0
    reversed: Maturing = Maturing()
    rolled: Maturing = Maturing()
    ledger_opening: Maturing = Maturing()
    ledger_closing: Maturing = Maturing()

    @property
    def closing(self) -> Maturing:
        """Opening + drawn − matured − repaid − reversed (− rolled out + rolled in)."""
        return (
            self.opening + self.drawn - self.matured - self.repaid - self.reversed - self.rolled + self.rolled
        )

    @property
    def holds(self) -> bool:
        return self.opening == self.ledger_opening and self.closing == self.ledger_closing

    def __add__(self, other: Movements) -> Movements:
        return Movements(
            self.opening + other.opening,
            self.drawn + other.drawn,
            self.matured + other.matured,
            self.repaid + other.repaid,
            self.repaid_partly + other.repaid_partly,
            self.reversed + other.reversed,
            self.rolled + other.rolled,
            self.ledger_opening + other.ledger_opening,
            self.ledger_closing + other.ledger_closing,
        )


@dataclass(frozen=True)
class TargetShare:
    """A tool's own target group (its catalogue eligibility: statuses, industries, sizes) in its year to date."""

    description: str
    drawdowns: int
    amount_fen: int
    total_drawdowns: int
    total_fen: int


@dataclass
class ToolFigures:
    """Everything one tool's monthly report shows except the appendix rows (streamed separately)."""

    tool_code: str
    period: str
    month: Totals
    ytd: Totals
    cb_rate_month: WeightedRate
    cb_rate_ytd: WeightedRate
    lend_rate_month: WeightedRate
    lend_rate_ytd: WeightedRate
    outstanding_fen: int
    outstanding_drawdowns: int
    maturing_next: Maturing
    ladder: list[Maturing]  # the month-end balance by maturity month: the next 12 months, then beyond
    movements: Movements
    by_institution: list[BreakdownRow]
    by_industry: list[BreakdownRow]
    by_size: list[BreakdownRow]
    by_status: list[BreakdownRow]
    trend: list[tuple[str, int, int]]  # (YYYY-MM, fen, drawdowns)
    top_borrowers: list[BorrowerRow]
    share: Any = (
        None  # ledger.rules.share.ShareResult: the branch's, year to date (the rule is for all tools)
    )
    reasons: list[tuple[str, int, int]] = field(
        default_factory=list
    )  # (category, n, fen) of key-area drawdowns
    target: TargetShare | None = None

    @property
    def has_data(self) -> bool:
        return bool(self.month.drawdowns or self.ytd.drawdowns or self.outstanding_drawdowns)


@dataclass
class ToolLine:
    """One tool's row in the summary: side-by-side figures, quota, maturities."""

    tool_code: str
    month: Totals
    ytd: Totals
    outstanding_fen: int
    outstanding_drawdowns: int
    maturing: list[Maturing] = field(default_factory=list)  # the next 12 months, then "12个月以上"
    movements: Movements = Movements()


# -- the all-tool figures the batch computes once ------------------------------------------------------------------
def month_end_positions(
    conn: Connection, period: Period, months: int = LADDER_MONTHS, tool_code: str | None = None
) -> dict[str, tuple[int, int, list[Maturing]]]:
    """Per tool, in one pass: the balance at month end (fen, drawdowns) and the part of it falling due in each of
    the next `months` calendar months, then beyond them (rollovers and repayments up to month end applied); the
    last bucket is its own sum, not the balance less the others, so the ladder adding up to the balance is a check.
    """
    cols = ["COUNT(*)", "SUM(d.amount_fen - COALESCE(ev.repaid_fen, 0))"]
    params: dict[str, Any] = {"as_of": period.last}
    due_on = "COALESCE(ev.rolled_to, d.maturity_on)"
    for k in range(1, months + 1):
        p = period.shifted(k)
        params[f"s{k}"], params[f"e{k}"] = p.first, p.last
        falls_due = f"{due_on} BETWEEN :s{k} AND :e{k}"
        cols.append(f"SUM(CASE WHEN {falls_due} THEN 1 ELSE 0 END)")
        cols.append(f"SUM(CASE WHEN {falls_due} THEN d.amount_fen - COALESCE(ev.repaid_fen, 0) ELSE 0 END)")
    params["beyond"] = period.shifted(months).last
    cols.append(f"SUM(CASE WHEN {due_on} > :beyond THEN 1 ELSE 0 END)")
    cols.append(
        f"SUM(CASE WHEN {due_on} > :beyond THEN d.amount_fen - COALESCE(ev.repaid_fen, 0) ELSE 0 END)"
    )
    where = ""
    if tool_code is not None:
        where, params["t"] = "AND d.tool_code = :t ", tool_code
    # The same conditions as ledger.services.balances.outstanding_sql (one definition of "outstanding").
    sql = (
        f"SELECT d.tool_code, {', '.join(cols)} FROM drawdown d LEFT JOIN ({EVENTS_AS_OF}) ev ON ev.drawdown_id = d.id "
        "WHERE d.drawn_on <= :as_of AND COALESCE(ev.rolled_to, d.maturity_on) > :as_of "
        f"AND COALESCE(ev.reversed, 0) = 0 AND d.amount_fen > COALESCE(ev.repaid_fen, 0) {where}GROUP BY d.tool_code"
    )
    out: dict[str, tuple[int, int, list[Maturing]]] = {}
    for row in conn.execute(text(sql), params):
        due = [Maturing(int(row[2 * k + 1] or 0), int(row[2 * k + 2] or 0)) for k in range(1, months + 2)]
        out[str(row[0])] = (int(row[2] or 0), int(row[1]), due)
    return out


def empty_ladder(months: int = LADDER_MONTHS) -> list[Maturing]:
    return [Maturing() for _ in range(months + 1)]


_MOVEMENT_EVENTS = """
SELECT drawdown_id,
       MAX(CASE WHEN kind = 'reversal' AND event_on <= :t1 THEN 1 ELSE 0 END) AS rev1,
       MAX(CASE WHEN kind = 'reversal' AND event_on <= :t0 THEN 1 ELSE 0 END) AS rev0,
       SUM(CASE WHEN kind = 'repayment' AND event_on <= :t0 THEN amount_fen ELSE 0 END) AS rep0,
       SUM(CASE WHEN kind = 'repayment' AND event_on <= :t1 THEN amount_fen ELSE 0 END) AS rep1,
       MAX(CASE WHEN kind = 'rollover' AND event_on <= :t0 THEN new_maturity_on END) AS mat0,
       MAX(CASE WHEN kind = 'rollover' AND event_on <= :t1 THEN new_maturity_on END) AS mat1,
       SUM(CASE WHEN kind = 'rollover' AND event_on > :t0 AND event_on <= :t1 THEN 1 ELSE 0 END) AS rolls
FROM drawdown_event GROUP BY drawdown_id
"""


def movements(conn: Connection, period: Period, tool_code: str | None = None) -> dict[str, Movements]:
    """Per tool, in one pass over the drawdowns outstanding at the previous month end or drawn in the month."""
    t0 = period.first - timedelta(days=1)
    params: dict[str, Any] = {"t0": t0, "t1": period.last, "m0": period.first}
    where = ""
    if tool_code is not None:
        where, params["t"] = "AND d.tool_code = :t ", tool_code
    # x: one row per drawdown in scope: o (opening amount), dr (drawn in the month), rem (what remains at month
    # end after repayments), door (0 stays, 1 reversed, 2 repaid in full, 3 matured), repaid in the month.
    o = (
        "CASE WHEN d.drawn_on <= :t0 AND COALESCE(ev.rev0, 0) = 0 AND COALESCE(ev.mat0, d.maturity_on) > :t0 "
        "AND d.amount_fen > COALESCE(ev.rep0, 0) THEN d.amount_fen - COALESCE(ev.rep0, 0) ELSE 0 END"
    )
    row_sql = (
        f"SELECT d.tool_code AS tool, {o} AS o, CASE WHEN d.drawn_on >= :m0 THEN d.amount_fen ELSE 0 END AS dr, "
        "d.amount_fen - COALESCE(ev.rep1, 0) AS rem, "
        f"COALESCE(ev.rep1, 0) - CASE WHEN {o} > 0 THEN COALESCE(ev.rep0, 0) ELSE 0 END AS rp, "
        "COALESCE(ev.rolls, 0) AS rolls, "
        "CASE WHEN COALESCE(ev.rev1, 0) = 1 THEN 1 WHEN d.amount_fen <= COALESCE(ev.rep1, 0) THEN 2 "
        "WHEN COALESCE(ev.mat1, d.maturity_on) <= :t1 THEN 3 ELSE 0 END AS door "
        f"FROM drawdown d LEFT JOIN ({_MOVEMENT_EVENTS}) ev ON ev.drawdown_id = d.id "
        f"WHERE d.drawn_on <= :t1 AND (d.drawn_on >= :m0 OR d.maturity_on > :t0 OR ev.mat0 IS NOT NULL) {where}"
    )
    sql = (
        "SELECT tool, "
        "SUM(CASE WHEN o > 0 THEN 1 ELSE 0 END), SUM(o), "
        "SUM(CASE WHEN dr > 0 THEN 1 ELSE 0 END), SUM(dr), "
        "SUM(CASE WHEN door = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN door = 3 THEN rem ELSE 0 END), "
        "SUM(CASE WHEN door = 2 THEN 1 ELSE 0 END), SUM(rp), "
        "SUM(CASE WHEN door <> 2 AND rp > 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN door = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN door = 1 THEN rem ELSE 0 END), "
        "SUM(CASE WHEN door <> 1 AND rolls > 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN door <> 1 AND rolls > 0 THEN rem ELSE 0 END) "
        f"FROM ({row_sql}) x WHERE o > 0 OR dr > 0 GROUP BY tool"
    )
    opening = {o.tool_code: Maturing(o.drawdowns, o.amount_fen) for o in outstanding(conn, t0, tool_code)}
    closing = {
        o.tool_code: Maturing(o.drawdowns, o.amount_fen) for o in outstanding(conn, period.last, tool_code)
    }
    out: dict[str, Movements] = {}
    for r in conn.execute(text(sql), params):
        v = [int(x or 0) for x in r[1:]]
        code = str(r[0])
        out[code] = Movements(
            opening=Maturing(v[0], v[1]),
            drawn=Maturing(v[2], v[3]),
            matured=Maturing(v[4], v[5]),
            repaid=Maturing(v[6], v[7]),
            repaid_partly=v[8],
            reversed=Maturing(v[9], v[10]),
            rolled=Maturing(v[11], v[12]),
            ledger_opening=opening.get(code, Maturing()),
            ledger_closing=closing.get(code, Maturing()),
        )
    for code in set(opening) | set(closing):  # a balance with no movement row would be a gap: show it
        if code not in out:
            out[code] = Movements(
                ledger_opening=opening.get(code, Maturing()), ledger_closing=closing.get(code, Maturing())
            )
    return out


def tools_with_activity(conn: Connection, period: Period) -> dict[str, Totals]:
    """Per tool: the month's drawings (tools with none are absent)."""
    rows = conn.execute(
        text(
            "SELECT d.tool_code, SUM(d.amount_fen), COUNT(*), COUNT(DISTINCT d.enterprise_id), SUM(d.principal_fen) "
            f"FROM drawdown d WHERE d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED} GROUP BY d.tool_code"
        ),
        {"a": period.first, "b": period.last},
    )
    return {str(r[0]): Totals(int(r[1] or 0), int(r[2]), int(r[3]), int(r[4] or 0)) for r in rows}


def ytd_by_tool(conn: Connection, period: Period) -> dict[str, Totals]:
    rows = conn.execute(
        text(
            "SELECT d.tool_code, SUM(d.amount_fen), COUNT(*), COUNT(DISTINCT d.enterprise_id), SUM(d.principal_fen) "
            f"FROM drawdown d WHERE d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED} GROUP BY d.tool_code"
        ),
        {"a": period.year_first, "b": period.last},
    )
    return {str(r[0]): Totals(int(r[1] or 0), int(r[2]), int(r[3]), int(r[4] or 0)) for r in rows}


def trends(conn: Connection, period: Period) -> dict[str, list[tuple[str, int, int]]]:
    """Every tool's 12-month trend in one grouped pass (the batch hands each tool its own)."""
    return _trend_rows(conn, period, None)


def summary_lines(conn: Connection, period: Period, codes: Sequence[str]) -> list[ToolLine]:
    month = tools_with_activity(conn, period)
    ytd = ytd_by_tool(conn, period)
    positions = month_end_positions(conn, period)
    moves = movements(conn, period)
    lines = []
    for code in codes:
        fen, n, due = positions.get(code, (0, 0, empty_ladder()))
        lines.append(
            ToolLine(
                code,
                month.get(code, Totals()),
                ytd.get(code, Totals()),
                fen,
                n,
                due,
                moves.get(code, Movements()),
            )
        )
    return lines


# -- one tool ------------------------------------------------------------------------------------------------------
def _totals(conn: Connection, code: str, start: date, end: date) -> Totals:
    row = conn.execute(
        text(
            "SELECT SUM(d.amount_fen), COUNT(*), COUNT(DISTINCT d.enterprise_id), SUM(d.principal_fen) FROM drawdown d "
            f"WHERE d.tool_code = :t AND d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED}"
        ),
        {"t": code, "a": start, "b": end},
    ).one()
    return Totals(int(row[0] or 0), int(row[1]), int(row[2]), int(row[3] or 0))


def _rates(
    conn: Connection, code: str, period: Period, rate_col: str, weight_col: str
) -> tuple[WeightedRate, WeightedRate]:
    """(month, year to date) weighted averages of `rate_col` by `weight_col`, grouped by rate in SQL."""
    rows = conn.execute(
        text(
            f"SELECT d.{rate_col}, SUM(CASE WHEN d.drawn_on >= :m THEN d.{weight_col} ELSE 0 END), SUM(d.{weight_col}) "
            f"FROM drawdown d WHERE d.tool_code = :t AND d.drawn_on BETWEEN :a AND :b AND d.{rate_col} IS NOT NULL "
            f"AND {NOT_REVERSED} GROUP BY d.{rate_col} ORDER BY d.{rate_col}"
        ),
        {"t": code, "m": period.first, "a": period.year_first, "b": period.last},
    ).all()
    month = tuple((int(r[0]), int(r[1] or 0)) for r in rows if r[1])
    ytd = tuple((int(r[0]), int(r[2] or 0)) for r in rows)
    return WeightedRate(month), WeightedRate(ytd)


def _breakdowns(
    conn: Connection, code: str, period: Period
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """By bank, by GB/T 4754 section and by size in one scan of the tool's year (grouped by all three, folded here):
    rows (key, label, month n, month fen, ytd n, ytd fen), largest year-to-date first, as `_breakdown` gives them."""
    sql = (
        "SELECT i.code, MIN(i.name), substr(e.industry_code, 1, 1), e.size, "
        "SUM(CASE WHEN d.drawn_on >= :m THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN d.drawn_on >= :m THEN d.amount_fen ELSE 0 END), COUNT(*), SUM(d.amount_fen) "
        "FROM drawdown d JOIN institution i ON i.id = d.institution_id JOIN enterprise e ON e.id = d.enterprise_id "
        f"WHERE d.tool_code = :t AND d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED} "
        "GROUP BY i.code, substr(e.industry_code, 1, 1), e.size"
    )
    folded: list[dict[str, list[Any]]] = [{}, {}, {}]
    for bank, name, section, size, mn, mf, yn, yf in conn.execute(
        text(sql), {"t": code, "m": period.first, "a": period.year_first, "b": period.last}
    ):
        for acc, key, label in (
            (folded[0], bank, name),
            (folded[1], section, section),
            (folded[2], size, size),
        ):
            row = acc.setdefault(str(key), [str(key), str(label), 0, 0, 0, 0])
            for i, v in enumerate((mn, mf, yn, yf), 2):
                row[i] += int(v or 0)
    out = [sorted((tuple(r) for r in acc.values()), key=lambda r: (-r[5], r[0])) for acc in folded]
    return out[0], out[1], out[2]


def _rows(raw: list[tuple[Any, ...]], label: Any = None) -> list[BreakdownRow]:
    out = []
    for r in raw:
        key = str(r[0])
        out.append(
            BreakdownRow(
                key,
                label(key) if label else str(r[1]),
                int(r[2] or 0),
                int(r[3] or 0),
                int(r[4] or 0),
                int(r[5] or 0),
            )
        )
    return out


def _status_breakdown(conn: Connection, code: str, period: Period) -> list[BreakdownRow]:
    """Per sci-tech status valid on the drawdown date (a drawdown may count under several), plus 'none'."""
    params = {"t": code, "m": period.first, "a": period.year_first, "b": period.last}
    scope = f"d.tool_code = :t AND d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED}"
    valid = (
        "s.enterprise_id = d.enterprise_id AND s.valid_from <= d.drawn_on "
        "AND (s.valid_to IS NULL OR s.valid_to >= d.drawn_on)"
    )
    names = tuple(SCI_TECH_STATUSES)
    marks = ", ".join(f":s{i}" for i in range(len(names)))
    params.update({f"s{i}": n for i, n in enumerate(names)})
    sql = (
        "SELECT x.status, SUM(CASE WHEN x.drawn_on >= :m THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.drawn_on >= :m THEN x.amount_fen ELSE 0 END), COUNT(*), SUM(x.amount_fen) FROM ("
        "SELECT DISTINCT d.id, d.drawn_on, d.amount_fen, s.status FROM drawdown d "
        f"JOIN enterprise_status s ON {valid} AND s.status IN ({marks}) WHERE {scope}) x GROUP BY x.status"
    )
    by_status = {str(r[0]): r for r in conn.execute(text(sql), params)}
    rows = [
        BreakdownRow(n, n, int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0))
        for n in names
        if (r := by_status.get(n)) is not None
    ]
    none_sql = (
        "SELECT SUM(CASE WHEN d.drawn_on >= :m THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN d.drawn_on >= :m THEN d.amount_fen ELSE 0 END), COUNT(*), SUM(d.amount_fen) FROM drawdown d "
        f"WHERE {scope} AND NOT EXISTS (SELECT 1 FROM enterprise_status s WHERE {valid} AND s.status IN ({marks}))"
    )
    r = conn.execute(text(none_sql), params).one()
    if r[2]:
        rows.append(BreakdownRow("", "", int(r[0] or 0), int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)))
    return rows


def _trend_rows(conn: Connection, period: Period, code: str | None) -> dict[str, list[tuple[str, int, int]]]:
    """Drawn fen and count per month for the 12 months ending with `period`, per tool, as conditional sums (no
    dialect-specific date function)."""
    months = period.trend()
    params: dict[str, Any] = {"a": months[0].first, "b": period.last}
    cols = []
    for i, p in enumerate(months):
        params[f"s{i}"], params[f"e{i}"] = p.first, p.last
        cols.append(f"SUM(CASE WHEN d.drawn_on BETWEEN :s{i} AND :e{i} THEN d.amount_fen ELSE 0 END)")
        cols.append(f"SUM(CASE WHEN d.drawn_on BETWEEN :s{i} AND :e{i} THEN 1 ELSE 0 END)")
    where = f"d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED}"
    if code is not None:
        where += " AND d.tool_code = :t"
        params["t"] = code
    sql = f"SELECT d.tool_code, {', '.join(cols)} FROM drawdown d WHERE {where} GROUP BY d.tool_code"
    return {
        str(row[0]): [
            (p.key, int(row[2 * i + 1] or 0), int(row[2 * i + 2] or 0)) for i, p in enumerate(months)
        ]
        for row in conn.execute(text(sql), params)
    }


def empty_trend(period: Period) -> list[tuple[str, int, int]]:
    return [(p.key, 0, 0) for p in period.trend()]


def combined_trend(
    period: Period, by_tool: dict[str, list[tuple[str, int, int]]]
) -> list[tuple[str, int, int]]:
    """All tools' months added up (integer fen)."""
    total = empty_trend(period)
    for rows in by_tool.values():
        total = [(k, f + rf, n + rn) for (k, f, n), (_rk, rf, rn) in zip(total, rows, strict=True)]
    return total


def _top_borrowers(conn: Connection, code: str, period: Period, limit: int = 10) -> list[BorrowerRow]:
    rows = conn.execute(
        text(
            "SELECT e.name, e.uscc, x.n, x.fen FROM (SELECT d.enterprise_id AS eid, COUNT(*) AS n, SUM(d.amount_fen) AS fen "
            f"FROM drawdown d WHERE d.tool_code = :t AND d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED} "
            "GROUP BY d.enterprise_id) x JOIN enterprise e ON e.id = x.eid ORDER BY x.fen DESC, e.uscc LIMIT :lim"
        ),
        {"t": code, "a": period.first, "b": period.last, "lim": limit},
    )
    return [BorrowerRow(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]


def tool_figures(
    conn: Connection,
    config: Config,
    code: str,
    period: Period,
    *,
    line: ToolLine | None = None,
    trend: list[tuple[str, int, int]] | None = None,
    share: Any = None,
    reasons: dict[str, list[tuple[str, int, int]]] | None = None,
) -> ToolFigures:
    """One tool's month; balance, ladder, movements and trend come from the batch's all-tool queries when it has
    them (`line`, `trend`)."""
    if line is None:
        fen, n, due = month_end_positions(conn, period, tool_code=code).get(code, (0, 0, empty_ladder()))
        moves = movements(conn, period, code).get(code, Movements())
        line = ToolLine(code, Totals(), Totals(), fen, n, due, moves)
    if trend is None:
        trend = _trend_rows(conn, period, code).get(code) or empty_trend(period)
    cb_m, cb_y = _rates(conn, code, period, "cb_rate_ppm", "amount_fen")
    # The end borrower's rate applies to the loan principal or bill face, so that is its weight.
    lend_m, lend_y = _rates(conn, code, period, "lend_rate_ppm", "principal_fen")
    banks, sections, sizes = _breakdowns(conn, code, period)
    return ToolFigures(
        tool_code=code,
        period=period.key,
        month=_totals(conn, code, period.first, period.last),
        ytd=_totals(conn, code, period.year_first, period.last),
        cb_rate_month=cb_m,
        cb_rate_ytd=cb_y,
        lend_rate_month=lend_m,
        lend_rate_ytd=lend_y,
        outstanding_fen=line.outstanding_fen,
        outstanding_drawdowns=line.outstanding_drawdowns,
        maturing_next=line.maturing[0],
        ladder=line.maturing,
        movements=line.movements,
        by_institution=_rows(banks),
        by_industry=_rows(sections, lambda k: f"{k} {section_name(k)}"),
        by_size=_rows(sizes, lambda k: SIZES.get(k, k)),
        by_status=_status_breakdown(conn, code, period),
        trend=trend,
        top_borrowers=_top_borrowers(conn, code, period),
        share=share if share is not None else share_result(conn, config, period),
        reasons=(reasons if reasons is not None else reason_counts(conn, period, code)).get(code, []),
        target=target_share(conn, config, code, period),
    )


def reason_category(reason: str) -> str:
    """资质 / 高技术制造业 / 制造业 / a configured industry's name: the part of a stored key-area reason before its
    detail ('资质:高新技术企业', '制造业(C3425)', '高技术制造业:电子及通信设备制造(C3911)')."""
    for mark in (":", "：", "(", "（"):
        reason = reason.split(mark, 1)[0]
    return reason.strip() or "—"


def reason_counts(
    conn: Connection, period: Period, tool_code: str | None = None
) -> dict[str, list[tuple[str, int, int]]]:
    """Per tool, the year's key-area drawdowns (as of month end) by why they counted: (category, n, fen), largest
    first. The reasons are stored at booking (ledger.domain.key_area), so this sums them, it never re-decides."""
    params: dict[str, Any] = {"a": period.year_first, "b": period.last, "k": True}
    where = ""
    if tool_code is not None:
        where, params["t"] = "AND d.tool_code = :t ", tool_code
    rows = conn.execute(
        text(
            "SELECT d.tool_code, d.key_area_reason, COUNT(*), SUM(d.amount_fen) FROM drawdown d "
            f"WHERE d.drawn_on BETWEEN :a AND :b AND d.key_area = :k AND {NOT_REVERSED} {where}"
            "GROUP BY d.tool_code, d.key_area_reason"
        ),
        params,
    )
    folded: dict[str, dict[str, list[int]]] = {}
    for code, reason, n, fen in rows:
        acc = folded.setdefault(str(code), {}).setdefault(reason_category(str(reason)), [0, 0])
        acc[0] += int(n)
        acc[1] += int(fen or 0)
    return {
        code: sorted(((k, v[0], v[1]) for k, v in cats.items()), key=lambda r: (-r[2], r[0]))
        for code, cats in folded.items()
    }


def target_share(conn: Connection, config: Config, code: str, period: Period) -> TargetShare | None:
    """The share of the tool's year to date lent to its own target group: a borrower holding one of the
    eligibility's statuses on the drawdown date, in one of its industries, or of one of its sizes."""
    tool = config.catalogue.get(code)
    rule = tool.eligibility
    if not (rule.statuses or rule.industry_prefixes or rule.sizes):
        return None
    params: dict[str, Any] = {"t": code, "a": period.year_first, "b": period.last}
    tests = []
    if rule.statuses:
        marks = ", ".join(f":s{i}" for i in range(len(rule.statuses)))
        params.update({f"s{i}": s for i, s in enumerate(rule.statuses)})
        tests.append(
            "EXISTS (SELECT 1 FROM enterprise_status s WHERE s.enterprise_id = d.enterprise_id "
            f"AND s.status IN ({marks}) AND s.valid_from <= d.drawn_on "
            "AND (s.valid_to IS NULL OR s.valid_to >= d.drawn_on))"
        )
    for i, prefix in enumerate(rule.industry_prefixes):
        params[f"p{i}"] = f"{prefix}%"
        tests.append(f"e.industry_code LIKE :p{i}")
    if rule.sizes:
        marks = ", ".join(f":z{i}" for i in range(len(rule.sizes)))
        params.update({f"z{i}": z for i, z in enumerate(rule.sizes)})
        tests.append(f"e.size IN ({marks})")
    matched = " OR ".join(tests)
    row = conn.execute(
        text(
            f"SELECT SUM(CASE WHEN {matched} THEN 1 ELSE 0 END), SUM(CASE WHEN {matched} THEN d.amount_fen ELSE 0 END), "
            "COUNT(*), SUM(d.amount_fen) FROM drawdown d JOIN enterprise e ON e.id = d.enterprise_id "
            f"WHERE d.tool_code = :t AND d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED}"
        ),
        params,
    ).one()
    return TargetShare(
        rule.description, int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0)
    )


def share_result(conn: Connection, config: Config, period: Period, tool_code: str | None = None) -> Any:
    """The ≥50% rule year to date as of month end, from ledger.rules.share (the one definition of the share)."""
    from ledger.rules.share import compute_share

    return compute_share(conn, config, period.year, period.last, tool_code=tool_code)


# -- the appendix, streamed ----------------------------------------------------------------------------------------
class AppendixRow(NamedTuple):
    """One drawdown of the appendix; a tuple so the fingerprint hashes it without conversion."""

    id: int
    drawn_on: str
    maturity_on: str
    institution: str
    enterprise: str
    amount_fen: int
    principal_fen: int
    cb_rate_ppm: int
    lend_rate_ppm: int | None
    key_area: bool
    bill_no: str = ""
    interest_fen: int = 0


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def stream_month(conn: Connection, code: str, period: Period, batch: int = 2000) -> Iterator[AppendixRow]:
    """Every drawdown of the tool's month in (drawn_on, id) order, fetched `batch` rows at a time."""
    result = streamed(
        conn,
        batch,
        text(
            "SELECT d.id, d.drawn_on, d.maturity_on, i.name, e.name, d.amount_fen, d.principal_fen, d.cb_rate_ppm, "
            "d.lend_rate_ppm, d.key_area, d.bill_no, d.bill_range, d.interest_fen FROM drawdown d JOIN institution i ON i.id = d.institution_id "
            "JOIN enterprise e ON e.id = d.enterprise_id "
            f"WHERE d.tool_code = :t AND d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED} ORDER BY d.drawn_on, d.id"
        ),
        {"t": code, "a": period.first, "b": period.last},
    )
    for r in result:
        yield AppendixRow(
            int(r[0]),
            _iso(r[1]),
            _iso(r[2]),
            str(r[3]),
            str(r[4]),
            int(r[5]),
            int(r[6]),
            int(r[7]),
            None if r[8] is None else int(r[8]),
            bool(r[9]),
            (str(r[10] or "") + (f" {r[11]}" if r[11] else "")),
            int(r[12] or 0),
        )


class Fingerprint:
    """sha256 over the figures and every appendix row a report shows: equal data, equal fingerprint."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, value: Any) -> None:
        self._hash.update(canonical_json(_plain(value)).encode())
        self._hash.update(b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, AppendixRow):
        return list(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# -- exceptions and controls ---------------------------------------------------------------------------------------
EXCEPTION_ROWS = 40  # rows listed per kind of exception; the count is always complete


class ExceptionRow(NamedTuple):
    """One drawdown (or event) a reviewer should look at; `detail` says why (rates, reason, dates)."""

    id: int
    tool_code: str
    drawn_on: str
    institution: str
    enterprise: str
    amount_fen: int
    detail: str


@dataclass
class ExceptionList:
    count: int = 0
    amount_fen: int = 0
    rows: list[ExceptionRow] = field(default_factory=list)


@dataclass
class Exceptions:
    """The month's exceptions and the controls in force, for every tool (a tool report keeps its own rows).

    rate_differs: central-bank rate ≠ the rate table's on drawn_on; overrides: booked outside the tool's target
    group with a reason; over_cap: end-borrower rate above the tool's cap; reversals: effective in the month;
    late: drawn in the month but booked after its end (the audit record's time); interest: rediscount interest of
    the month's drawings; findings: `ledger check all` for the year to month end; quotas: (tool, quota, drawn year to
    date) from the policy in force at month end — only tools with a quota."""

    rate_differs: dict[str, ExceptionList] = field(default_factory=dict)
    overrides: dict[str, ExceptionList] = field(default_factory=dict)
    over_cap: dict[str, ExceptionList] = field(default_factory=dict)
    reversals: dict[str, ExceptionList] = field(default_factory=dict)
    late: dict[str, ExceptionList] = field(default_factory=dict)
    interest: dict[str, Maturing] = field(default_factory=dict)
    findings: list[tuple[str, str, str, str, int]] = field(
        default_factory=list
    )  # severity, rule, tool, msg, n
    quotas: list[tuple[str, int, int]] = field(default_factory=list)
    balance_caps: list[tuple[str, int, int]] = field(default_factory=list)

    def kinds(self) -> list[tuple[str, dict[str, ExceptionList]]]:
        return [
            ("rate_differs", self.rate_differs),
            ("overrides", self.overrides),
            ("over_cap", self.over_cap),
            ("reversals", self.reversals),
            ("late", self.late),
        ]

    def for_tool(self, code: str) -> Exceptions:
        pick = lambda lists: {code: lists[code]} if code in lists else {}  # noqa: E731
        return Exceptions(
            pick(self.rate_differs),
            pick(self.overrides),
            pick(self.over_cap),
            pick(self.reversals),
            pick(self.late),
            {code: self.interest[code]} if code in self.interest else {},
            [f for f in self.findings if f[2] == code],
            [q for q in self.quotas if q[0] == code],
            [q for q in self.balance_caps if q[0] == code],
        )


def _collect(conn: Connection, sql: str, params: dict[str, Any], detail: Any) -> dict[str, ExceptionList]:
    out: dict[str, ExceptionList] = {}
    for r in conn.execute(text(sql), params):
        acc = out.setdefault(str(r.tool_code), ExceptionList())
        acc.count += 1
        acc.amount_fen += int(r.amount_fen)
        if len(acc.rows) < EXCEPTION_ROWS:
            acc.rows.append(
                ExceptionRow(
                    int(r.id),
                    str(r.tool_code),
                    _iso(r.drawn_on),
                    str(r.inst),
                    str(r.ent),
                    int(r.amount_fen),
                    detail(r),
                )
            )
    return out


def exceptions(
    conn: Connection, config: Config, period: Period, ytd: dict[str, Totals], closing: dict[str, int]
) -> Exceptions:
    """Every exception of the month in a handful of queries over the month's rows (and the small event table)."""
    from ledger.rules.checks import run_checks

    base = (
        "SELECT d.id, d.tool_code, d.drawn_on, i.name AS inst, e.name AS ent, d.amount_fen, d.cb_rate_ppm, "
        "d.table_rate_ppm, d.lend_rate_ppm, d.override_reason FROM drawdown d "
        "JOIN institution i ON i.id = d.institution_id JOIN enterprise e ON e.id = d.enterprise_id "
        f"WHERE d.drawn_on BETWEEN :a AND :b AND {NOT_REVERSED} "
    )
    params: dict[str, Any] = {"a": period.first, "b": period.last}
    out = Exceptions()
    out.rate_differs = _collect(
        conn,
        base
        + "AND d.table_rate_ppm IS NOT NULL AND d.cb_rate_ppm <> d.table_rate_ppm ORDER BY d.drawn_on, d.id",
        params,
        lambda r: (
            f"{ppm_to_rate(int(r.cb_rate_ppm))}% / {ppm_to_rate(int(r.table_rate_ppm))}%"
            + (f"；{r.override_reason}" if r.override_reason else "")
        ),
    )
    out.overrides = _collect(
        conn,
        base + "AND d.override_reason <> '' ORDER BY d.drawn_on, d.id",
        params,
        lambda r: str(r.override_reason),
    )
    caps = {t.code: rate_to_ppm(t.lend_rate_cap) for t in config.catalogue if t.lend_rate_cap is not None}
    for code, cap in caps.items():
        found = _collect(
            conn,
            base + "AND d.tool_code = :t AND d.lend_rate_ppm > :cap ORDER BY d.drawn_on, d.id",
            {**params, "t": code, "cap": cap},
            lambda r, cap=cap: (
                f"{ppm_to_rate(int(r.lend_rate_ppm))}% > {ppm_to_rate(cap)}%"
                + (f"；{r.override_reason}" if r.override_reason else "")
            ),
        )
        out.over_cap.update(found)
    out.reversals = _collect(
        conn,
        "SELECT d.id, d.tool_code, d.drawn_on, i.name AS inst, e.name AS ent, d.amount_fen, v.event_on, v.reason "
        "FROM drawdown_event v JOIN drawdown d ON d.id = v.drawdown_id "
        "JOIN institution i ON i.id = d.institution_id JOIN enterprise e ON e.id = d.enterprise_id "
        "WHERE v.kind = 'reversal' AND v.event_on BETWEEN :a AND :b ORDER BY v.event_on, d.id",
        params,
        lambda r: f"{_iso(r.event_on)}；{r.reason}",
    )
    # Booked after the month's end (Beijing time): the audit record of the booking is later than 24:00 +08:00.
    cutoff = f"{period.last.isoformat()}T16:00:00"
    out.late = _collect(
        conn,
        base.replace("FROM drawdown d ", "FROM drawdown d JOIN audit_log a ON a.id = d.audit_id ").replace(
            "d.override_reason FROM", "d.override_reason, a.recorded_at FROM"
        )
        + "AND a.recorded_at >= :cut ORDER BY d.drawn_on, d.id",
        {**params, "cut": cutoff},
        lambda r: str(r.recorded_at)[:10],
    )
    for code, n, fen in conn.execute(
        text(
            "SELECT d.tool_code, COUNT(*), SUM(d.interest_fen) FROM drawdown d "
            f"WHERE d.drawn_on BETWEEN :a AND :b AND d.interest_fen > 0 AND {NOT_REVERSED} GROUP BY d.tool_code"
        ),
        params,
    ):
        out.interest[str(code)] = Maturing(int(n), int(fen or 0))
    out.findings = [
        (f.severity, f.rule_name, f.tool_code, f.message, f.count)
        for f in run_checks(conn, config, period.year, period.last)
    ]
    for tool in config.catalogue:
        if tool.annual_quota_yuan is not None:
            out.quotas.append(
                (tool.code, int(tool.annual_quota_yuan * 100), ytd.get(tool.code, Totals()).amount_fen)
            )
        if tool.balance_cap_yuan is not None:
            out.balance_caps.append((tool.code, int(tool.balance_cap_yuan * 100), closing.get(tool.code, 0)))
    return out
