"""The key-area share rule (银管发〔2022〕98号): key-area central-bank money ÷ all central-bank money in a year.

Why it is computed this way:
- Each drawdown stores `key_area` and its reason, decided at booking from what was true of the borrower on drawn_on
  (ledger.domain.key_area). The rule only sums those stored flags, so a certificate lapsing later never rewrites a
  past year.
- Whole months come from share_month (ledger.services.share_tally): figures per month, tool, key-area flag and
  bank, net of reversals, kept in step by every audited write. A year is then at most 12 × tools × 2 × banks rows
  instead of every drawdown: computed from the drawdowns, the rule's three groupings (day and tool, bank,
  reversals) each cost about as much as a hand-written one-year aggregate, which PostgreSQL runs in parallel.
- A month that as_of cuts short is read from the drawdowns: one GROUP BY (drawn_on, tool_code, key_area) over the
  covering index ix_drawdown_share, a second, institution_id grouping over the same range for the banks. Months
  are folded in Python, so no dialect-specific date function is needed and both backends run the same statements.
- Reversed drawdowns count nowhere: share_month holds net figures, and for the partial month the (small) reversal
  events are joined to their drawdowns by primary key and subtracted from the groups.
- On PostgreSQL the queries run with random_page_cost 1.1 (CACHED_PAGE_COSTS): with the default, a range that
  spans most of the table gets hash plans 3-4x slower than the index ones.
- Pass/fail and headroom are decided in integer fen against the threshold as an exact fraction; the Decimal share
  is for display only, rounded half-up to 4 places when shown. Reaching the threshold exactly passes (docs/rules.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Connection, Select, String, and_, func, select, type_coerce

from ledger.config import Config
from ledger.db.engine import CACHED_PAGE_COSTS, pg_local_settings
from ledger.db.models import (
    AuditLog,
    Drawdown,
    DrawdownEvent,
    Enterprise,
    EnterpriseStatus,
    Institution,
    ShareMonth,
    ToolRecord,
)
from ledger.domain.dates import MAX_DATE, MIN_DATE, YEAR_RULE, month_bounds, parse_month
from ledger.domain.eligibility import eligibility_problem
from ledger.domain.enterprise import EnterpriseFacts, StatusEntry
from ledger.domain.errors import NotFound, ValidationError
from ledger.domain.key_area import KEY_AREA, KeyAreaDecision, classify
from ledger.domain.measures import TARGET, parse_measures
from ledger.domain.money import fen_to_yuan, round_half_up

KINDS = ("relending", "rediscount")
BASES = ("booked", "known")
HEADROOM_KINDS = ("more_non_key_allowed", "key_area_needed", "none")

_D = Drawdown.__table__  # type: ignore[attr-defined]
_E = DrawdownEvent.__table__  # type: ignore[attr-defined]
_I = Institution.__table__  # type: ignore[attr-defined]
_N = Enterprise.__table__  # type: ignore[attr-defined]
_T = ToolRecord.__table__  # type: ignore[attr-defined]
_S = ShareMonth.__table__  # type: ignore[attr-defined]
_ST = EnterpriseStatus.__table__  # type: ignore[attr-defined]
_A = AuditLog.__table__  # type: ignore[attr-defined]


def exact_ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator ÷ denominator to 34 significant digits (None when nothing was drawn); decisions never use it."""
    if denominator == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 34
        return Decimal(numerator) / Decimal(denominator)


def display_share(share: Decimal | None) -> str | None:
    """The share as users and the JSON contract see it: a ratio rounded half-up to 4 places ('0.5263')."""
    return None if share is None else str(round_half_up(share, 4))


def display_percent(share: Decimal | None) -> str:
    """'52.63%' (the same 4-place rounding, shown as percent); '—' when nothing was drawn."""
    if share is None:
        return "—"
    return f"{round_half_up(share, 4) * 100:.2f}%"


@dataclass(frozen=True)
class ShareRow:
    """One line of a breakdown (a tool, a bank or a month)."""

    key: str  # tool code / institution code / 'YYYY-MM'
    label: str  # Chinese display name
    key_area_fen: int
    total_fen: int
    drawdowns: int

    @property
    def share(self) -> Decimal | None:
        return exact_ratio(self.key_area_fen, self.total_fen)

    @property
    def other_fen(self) -> int:
        return self.total_fen - self.key_area_fen

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "key_area_amount": str(fen_to_yuan(self.key_area_fen)),
            "total_amount": str(fen_to_yuan(self.total_fen)),
            "share": display_share(self.share),
            "drawdowns": self.drawdowns,
        }


@dataclass(frozen=True)
class ShareResult:
    """The rule's answer for one period and scope; every amount in integer fen."""

    year: int
    as_of: date
    scope: dict[str, str]  # only the filters given: kind / tool / institution (codes)
    threshold: Decimal
    key_area_fen: int
    total_fen: int
    drawdowns: int
    share: Decimal | None  # exact-ish (34 digits); rounded half-up to 4 places only for display
    status: str  # 'pass' | 'fail'
    headroom_kind: str  # 'more_non_key_allowed' | 'key_area_needed' | 'none'
    headroom_fen: int
    by_tool: list[ShareRow]
    by_month: list[ShareRow]
    by_institution: list[ShareRow]
    reversed_drawdowns: int = 0  # reversals found in the period and scope (already excluded above)
    reversed_fen: int = 0
    scope_label: str = "全辖"
    period_start: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    measure: str = KEY_AREA
    measure_label: str = "重点领域"
    basis: str = "booked"  # 'booked': as classified at booking; 'known': with what the ledger knows now
    reclassified: list[Reclassified] = field(default_factory=list)  # in scope, counted differently as known

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def empty(self) -> bool:
        return self.total_fen == 0

    @property
    def other_fen(self) -> int:
        return self.total_fen - self.key_area_fen

    def headroom_text(self) -> str:
        """One Chinese sentence: what the rest of the period can take, or what it needs."""
        amount = f"{fen_to_yuan(self.headroom_fen):,.2f}元"
        if self.headroom_kind == "more_non_key_allowed":
            if self.empty:
                return "本期尚无发放;首笔非重点领域资金即会使占比低于门槛"
            return f"在保持达标的前提下,本期还可发放非重点领域资金至多 {amount}"
        if self.headroom_kind == "key_area_needed":
            return f"本期还需发放重点领域资金至少 {amount} 方可达标"
        return "门槛设置使余量无法计算(门槛为0或100%)"

    def as_json(self) -> dict[str, Any]:
        """The `ledger check share --json` contract: yuan as strings with two decimals, share with four."""
        return {
            "year": self.year,
            "from": (self.period_start or date(self.year, 1, 1)).isoformat(),
            "to": self.as_of.isoformat(),
            "as_of": self.as_of.isoformat(),
            "measure": self.measure,
            "measure_label": self.measure_label,
            "basis": self.basis,
            "scope": dict(self.scope),
            "scope_label": self.scope_label,
            "key_area_amount": str(fen_to_yuan(self.key_area_fen)),
            "other_amount": str(fen_to_yuan(self.other_fen)),
            "total_amount": str(fen_to_yuan(self.total_fen)),
            "drawdowns": self.drawdowns,
            "share": display_share(self.share),
            "share_percent": None if self.share is None else display_percent(self.share),
            "threshold": str(self.threshold),
            "status": self.status,
            "nothing_drawn": self.empty,
            "headroom": {
                "kind": self.headroom_kind,
                "amount": str(fen_to_yuan(self.headroom_fen)),
                "text": self.headroom_text(),
            },
            "reversed": {"drawdowns": self.reversed_drawdowns, "amount": str(fen_to_yuan(self.reversed_fen))},
            "by_tool": [row.as_json() for row in self.by_tool],
            "by_month": [row.as_json() for row in self.by_month],
            "by_institution": [row.as_json() for row in self.by_institution],
            "reclassified": {
                "drawdowns": len(self.reclassified),
                "into_measure_amount": str(
                    fen_to_yuan(sum(r.amount_fen for r in self.reclassified if r.known))
                ),
                "out_of_measure_amount": str(
                    fen_to_yuan(sum(r.amount_fen for r in self.reclassified if not r.known))
                ),
                "rows": [r.as_json() for r in self.reclassified[:500]],
            },
        }


@dataclass(frozen=True)
class Reclassified:
    """A drawdown counted differently in a measure as now known than as booked, and why (a status recorded, or
    the borrower's industry or size corrected, after it was booked)."""

    id: int
    drawn_on: date
    tool_code: str
    institution_id: int
    office: str
    amount_fen: int
    booked: bool
    known: bool
    booked_reason: str
    known_reason: str
    change: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "drawn_on": self.drawn_on.isoformat(),
            "tool": self.tool_code,
            "office": self.office,
            "amount": str(fen_to_yuan(self.amount_fen)),
            "booked": self.booked,
            "known": self.known,
            "booked_reason": self.booked_reason,
            "known_reason": self.known_reason,
            "change": self.change,
        }


# -- the arithmetic -----------------------------------------------------------------------------------------------
def _fraction(threshold: Decimal) -> tuple[int, int]:
    p, q = threshold.as_integer_ratio()
    return p, q


def passes(key_area_fen: int, total_fen: int, threshold: Decimal) -> bool:
    """key ÷ total ≥ threshold, decided exactly in integers; an empty period passes (nothing was drawn)."""
    if total_fen == 0:
        return True
    p, q = _fraction(threshold)
    return key_area_fen * q >= p * total_fen


def headroom(key_area_fen: int, total_fen: int, threshold: Decimal) -> tuple[str, int]:
    """(kind, fen), exact: booking exactly `fen` keeps the period passing (more_non_key_allowed) or makes it pass
    (key_area_needed); one fen more non-key money, or one fen less key-area money, does not.

    With threshold t = p/q, K key-area and T total fen:
      passing: K/(T+x) ≥ t  ⇔  x ≤ (qK − pT)/p          → x = ⌊(qK − pT)/p⌋
      failing: (K+y)/(T+y) ≥ t ⇔ y ≥ (pT − qK)/(q − p)  → y = ⌈(pT − qK)/(q − p)⌉
    """
    p, q = _fraction(threshold)
    if passes(key_area_fen, total_fen, threshold):
        if p <= 0:
            return "none", 0
        return "more_non_key_allowed", (q * key_area_fen - p * total_fen) // p
    if p >= q:
        return "none", 0
    return "key_area_needed", -((q * key_area_fen - p * total_fen) // (q - p))


# -- scope and period ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scope:
    scope: dict[str, str]
    label: str
    kind: str | None
    tool_codes: frozenset[str] | None  # None: every tool
    institution_id: int | None
    office: str | None = None

    def on(self, table: Any) -> tuple[Any, ...]:
        """The scope as conditions on a table with tool_code, institution_id and office (drawdown or
        share_month)."""
        conditions: list[Any] = []
        if self.tool_codes is not None:
            codes = sorted(self.tool_codes)
            conditions.append(
                table.c.tool_code.in_(codes) if len(codes) != 1 else table.c.tool_code == codes[0]
            )
        if self.institution_id is not None:
            conditions.append(table.c.institution_id == self.institution_id)
        if self.office is not None:
            conditions.append(table.c.office == self.office)
        return tuple(conditions)

    def admits(self, tool_code: str, institution_id: int | None, office: str | None = None) -> bool:
        if self.tool_codes is not None and tool_code not in self.tool_codes:
            return False
        if self.office is not None and office != self.office:
            return False
        return self.institution_id is None or institution_id == self.institution_id


MAX_PERIOD_DAYS = 366 * 10


def period(
    year: int | None, as_of: date | None = None, *, start: date | None = None, end: date | None = None
) -> tuple[date, date]:
    """The period of a figure: the calendar year up to as_of (default: the year's last day), or from `start` to
    `end` (any dates, at most ten years apart; `start` alone runs to the end of its year, `end` alone from the
    first of its year)."""
    if start is not None or end is not None:
        if as_of is not None:
            raise ValidationError.single(
                "as_of", as_of, "截止日与起止日期不能同时使用 (use --to, not --as-of)"
            )
        first = start or date((end or date.today()).year, 1, 1)
        last = end or date(first.year, 12, 31)
        if year is not None and not first.year <= year <= last.year:
            raise ValidationError.single("year", year, "年份须在起止日期之间 (year outside the period)")
        for name, day in (("from", first), ("to", last)):
            if not MIN_DATE <= day <= MAX_DATE:
                raise ValidationError.single(name, day, YEAR_RULE)
        if last < first:
            raise ValidationError.single("to", last, f"截止日早于起始日{first} (to before from)")
        if (last - first).days > MAX_PERIOD_DAYS:
            raise ValidationError.single("to", last, "期间至多十年 (a period of at most ten years)")
        return first, last
    if year is None:
        raise ValidationError.single("year", "", "须指定年份或起止日期 (give --year or --from/--to)")
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise ValidationError.single("year", year, YEAR_RULE)
    first = date(year, 1, 1)
    last = as_of or date(year, 12, 31)
    if not first <= last <= date(year, 12, 31):
        raise ValidationError.single("as_of", last, f"截止日须在{year}年内 (as_of must fall in the year)")
    return first, last


def quarter_period(text: str) -> tuple[date, date]:
    """'2023Q1' (or 2023-Q1, 2023q1) → 2023-01-01 … 2023-03-31."""
    raw = text.strip().upper().replace("-", "")
    if len(raw) != 6 or not raw[:4].isdigit() or raw[4] != "Q" or raw[5] not in "1234":
        raise ValidationError.single("quarter", text, "季度应写作 2023Q1 (a quarter such as 2023Q1)")
    year, q = int(raw[:4]), int(raw[5])
    return date(year, 3 * q - 2, 1), month_bounds(year, 3 * q)[1]


def _scope(
    conn: Connection,
    config: Config,
    kind: str | None,
    tool_code: str | None,
    institution_code: str | None,
    office: str | None = None,
) -> _Scope:
    scope: dict[str, str] = {}
    labels: list[str] = []
    codes: set[str] | None = None
    if kind:
        if kind not in KINDS:
            raise ValidationError.single("kind", kind, "类别应为 relending(再贷款) 或 rediscount(再贴现)")
        codes = {t.code for t in config.catalogue if t.kind == kind}
        scope["kind"] = kind
        labels.append("再贷款" if kind == "relending" else "再贴现")
    if tool_code:
        tool = config.catalogue.find(tool_code)
        if tool is None:
            raise NotFound(f"tool={tool_code!r}: 未知工具 (unknown tool; `ledger tools` lists them)")
        codes = {tool.code} if codes is None else codes & {tool.code}
        scope["tool"] = tool.code
        labels.append(tool.name)
    institution_id = None
    if institution_code:
        row = conn.execute(select(_I.c.id, _I.c.name).where(_I.c.code == institution_code.strip())).first()
        if row is None:
            raise NotFound(f"institution={institution_code!r}: 未登记的机构 (unknown institution)")
        institution_id = int(row[0])
        scope["institution"] = institution_code.strip()
        labels.append(str(row[1]))
    if office is not None:
        office = office.strip()
        if not office:
            raise ValidationError.single("office", office, "经办行不能为空 (name the office)")
        scope["office"] = office
        labels.append(office)
    return _Scope(
        scope,
        " / ".join(labels) or "全辖",
        kind,
        frozenset(codes) if codes is not None else None,
        institution_id,
        office,
    )


# -- measures -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Measure:
    """Which stored classification a figure sums: the key_area flag, or one name in the measures column."""

    name: str
    label: str

    @property
    def stored_flag(self) -> bool:
        return self.name == KEY_AREA

    def counts(self, key_area: Any, measures: str | None) -> bool:
        """As booked. A drawdown booked before measures were kept ('?' / NULL) counts in no other measure here;
        _legacy adds those classified as now known."""
        if self.name == KEY_AREA:
            return bool(key_area)
        return _has(measures or "", self.name)


@lru_cache(maxsize=4096)
def _has(measures: str, name: str) -> bool:
    return name in parse_measures(measures)


def _measure(config: Config, name: str | None) -> _Measure:
    chosen = name or config.share_measure
    definitions = config.definitions()
    if chosen == TARGET:
        return _Measure(TARGET, "各工具支持对象")
    if chosen not in definitions:
        raise ValidationError.single(
            "measure", chosen, f"未定义的口径 (unknown measure; one of {', '.join(config.measure_names())})"
        )
    return _Measure(chosen, definitions[chosen].label)


# -- the queries --------------------------------------------------------------------------------------------------
def _day_tool_query(start: date, end: date, conditions: Iterable[Any]) -> Select[Any]:
    """The one grouping every partial-month figure comes from; its columns are in ix_drawdown_share, so both
    backends answer it from the index range alone."""
    return (
        # The day only feeds the month key, so it is read as text: no date object built per group.
        select(
            type_coerce(_D.c.drawn_on, String),
            _D.c.tool_code,
            _D.c.key_area,
            _D.c.measures,
            func.count(),
            func.sum(_D.c.amount_fen),
        )
        .where(_D.c.drawn_on >= start, _D.c.drawn_on <= end, *conditions)
        .group_by(_D.c.drawn_on, _D.c.tool_code, _D.c.key_area, _D.c.measures)
    )


def _institution_query(start: date, end: date, conditions: Iterable[Any]) -> Select[Any]:
    """Banks over the same index range, with the stored classification to fold."""
    return (
        select(_D.c.institution_id, _D.c.key_area, _D.c.measures, func.count(), func.sum(_D.c.amount_fen))
        .where(_D.c.drawn_on >= start, _D.c.drawn_on <= end, *conditions)
        .group_by(_D.c.institution_id, _D.c.key_area, _D.c.measures)
    )


def _reversed_query(
    start: date, end: date, conditions: Iterable[Any], *, effective_after: date | None = None
) -> Select[Any]:
    """Reversed drawdowns drawn in [start, end]: from the event table (small) to drawdown by primary key. By
    default those reversed by `end` (effective dating: a reversal counts from its event_on); `effective_after`
    selects instead those reversed after that date, which share_month (net of every reversal) has taken out too
    early for a figure as of it."""
    effective = _E.c.event_on > effective_after if effective_after is not None else _E.c.event_on <= end
    return (
        select(
            _D.c.drawn_on, _D.c.tool_code, _D.c.key_area, _D.c.measures, _D.c.institution_id, _D.c.amount_fen
        )
        .select_from(_E.join(_D, _D.c.id == _E.c.drawdown_id))
        .where(_E.c.kind == "reversal", effective, _D.c.drawn_on >= start, _D.c.drawn_on <= end, *conditions)
    )


def _tally_query(year: int, first: int, last: int, conditions: Iterable[Any]) -> Select[Any]:
    """Whole months of the period from share_month: months × tools × 2 × measure sets, in primary-key order."""
    return (
        select(
            _S.c.month,
            _S.c.tool_code,
            _S.c.key_area,
            _S.c.measures,
            func.sum(_S.c.drawdowns),
            func.sum(_S.c.amount_fen),
            func.sum(_S.c.reversed),
            func.sum(_S.c.reversed_fen),
        )
        .where(_S.c.year == year, _S.c.month >= first, _S.c.month <= last, *conditions)
        .group_by(_S.c.month, _S.c.tool_code, _S.c.key_area, _S.c.measures)
    )


def _tally_institution_query(year: int, first: int, last: int, conditions: Iterable[Any]) -> Select[Any]:
    return (
        select(
            _S.c.institution_id,
            _S.c.key_area,
            _S.c.measures,
            func.sum(_S.c.drawdowns),
            func.sum(_S.c.amount_fen),
        )
        .where(_S.c.year == year, _S.c.month >= first, _S.c.month <= last, *conditions)
        .group_by(_S.c.institution_id, _S.c.key_area, _S.c.measures)
    )


def whole_months(end: date) -> int:
    """How many months of a period ending on `end` are over by then (Jan..end's month, less a month cut short)."""
    return end.month if (end + timedelta(days=1)).month != end.month else end.month - 1


def _months(start: date, end: date) -> list[tuple[int, int]]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class _Acc:
    __slots__ = ("key", "n", "total")

    def __init__(self) -> None:
        self.key = self.total = self.n = 0

    def add(self, key_area: bool, n: int, fen: int) -> None:
        self.n += n
        self.total += fen
        if key_area:
            self.key += fen


@dataclass
class _Figures:
    """Signed group rows folded into the period's accumulators (a reversal or a preview is one more row)."""

    total: _Acc = field(default_factory=_Acc)
    tools: dict[str, _Acc] = field(default_factory=dict)
    months: dict[str, _Acc] = field(default_factory=dict)
    institutions: dict[int, _Acc] = field(default_factory=dict)
    reversed_n: int = 0
    reversed_fen: int = 0

    def add_day(self, day: Any, tool_code: str, key_area: bool, n: int, fen: int) -> None:
        month = str(day)[:7]
        self.total.add(key_area, n, fen)
        self.tools.setdefault(tool_code, _Acc()).add(key_area, n, fen)
        self.months.setdefault(month, _Acc()).add(key_area, n, fen)

    def add_institution(self, institution_id: int, key_area: bool, n: int, fen: int) -> None:
        self.institutions.setdefault(int(institution_id), _Acc()).add(key_area, n, fen)

    def add_single(
        self, day: Any, tool_code: str, key_area: bool, institution_id: int, fen: int, sign: int
    ) -> None:
        self.add_day(day, tool_code, key_area, sign, sign * fen)
        self.add_institution(institution_id, key_area, sign, sign * fen)
        if sign < 0:
            self.reversed_n += 1
            self.reversed_fen += fen

    def move_key(self, day: Any, tool_code: str, institution_id: int, fen: int) -> None:
        """`fen` (signed) into or out of the numerator only: a drawdown classified differently, already counted
        in the totals."""
        month = str(day)[:7]
        for acc in (
            self.total,
            self.tools.setdefault(tool_code, _Acc()),
            self.months.setdefault(month, _Acc()),
        ):
            acc.key += fen
        if self.institutions:  # only when the bank breakdown is kept
            self.institutions.setdefault(int(institution_id), _Acc()).key += fen

    def copy(self) -> _Figures:
        return _Figures(
            total=_clone(self.total),
            tools={k: _clone(v) for k, v in self.tools.items()},
            months={k: _clone(v) for k, v in self.months.items()},
            institutions={k: _clone(v) for k, v in self.institutions.items()},
            reversed_n=self.reversed_n,
            reversed_fen=self.reversed_fen,
        )


def _clone(acc: _Acc) -> _Acc:
    new = _Acc()
    new.key, new.total, new.n = acc.key, acc.total, acc.n
    return new


# With PostgreSQL's default random_page_cost, a drawdown range that spans most of the table made a sequential scan
# look a little cheaper than the covering index: the planner hashed the range on three keys (day, tool, key area)
# instead of streaming it in index order, and hashed every drawdown to find the reversals instead of probing their
# primary keys (3-4x the time for a 200k one-year table, when this path read whole years). The month as_of cuts
# short can still be most of a young ledger, so its queries keep CACHED_PAGE_COSTS; the statements stay the same
# on both backends.


def _gather(
    conn: Connection,
    start: date,
    end: date,
    scope: _Scope,
    by_institution: bool = True,
    measure: _Measure | None = None,
) -> _Figures:
    with pg_local_settings(conn, **CACHED_PAGE_COSTS):
        return _gather_rows(
            conn, start, end, scope, by_institution, measure or _Measure(KEY_AREA, "重点领域")
        )


def _gather_rows(
    conn: Connection, start: date, end: date, scope: _Scope, by_institution: bool, measure: _Measure
) -> _Figures:
    """Whole months from share_month; a month the period cuts short (at either end) from the drawdowns."""
    figures = _Figures()
    whole: list[tuple[int, int]] = []
    partial: list[tuple[date, date]] = []
    for y, m in _months(start, end):
        first, last = month_bounds(y, m)
        if first >= start and last <= end:
            whole.append((y, m))
        else:
            partial.append((max(first, start), min(last, end)))
    if whole:
        for year in sorted({y for y, _ in whole}):
            months = [m for y, m in whole if y == year]
            _fold_tally(conn, figures, year, months[0], months[-1], scope, by_institution, measure)
        # share_month is net of every reversal; one effective after `end` still counts as of `end`: add it back.
        first_day, last_day = month_bounds(*whole[0])[0], month_bounds(*whole[-1])[1]
        for day, tool_code, key_area, measures, institution_id, fen in conn.execute(
            _reversed_query(first_day, last_day, scope.on(_D), effective_after=end)
        ):
            figures.add_single(
                day, tool_code, measure.counts(key_area, measures), institution_id, int(fen), +1
            )
            figures.reversed_n -= 1
            figures.reversed_fen -= int(fen)
    for first, last in partial:
        _fold_drawdowns(conn, figures, first, last, end, scope, by_institution, measure)
    return figures


def _fold(figures: _Figures, month: str, tool_code: str, counted: bool, n: int, fen: int) -> None:
    key = fen if counted else 0
    tools, months = figures.tools, figures.months
    for acc in (
        figures.total,
        tools.get(tool_code) or tools.setdefault(tool_code, _Acc()),
        months.get(month) or months.setdefault(month, _Acc()),
    ):
        acc.n += n
        acc.total += fen
        acc.key += key


def _fold_institutions(figures: _Figures, rows: Iterable[Any], measure: _Measure) -> None:
    for institution_id, key_area, measures, n, fen in rows:
        acc = figures.institutions.setdefault(int(institution_id), _Acc())
        acc.add(measure.counts(key_area, measures), int(n), int(fen))


def _fold_tally(
    conn: Connection,
    figures: _Figures,
    year: int,
    first: int,
    last: int,
    scope: _Scope,
    by_institution: bool,
    measure: _Measure,
) -> None:
    conditions = scope.on(_S)
    for month, tool_code, key_area, measures, n, fen, reversed_n, reversed_fen in conn.execute(
        _tally_query(year, first, last, conditions)
    ):
        _fold(
            figures,
            f"{year:04d}-{int(month):02d}",
            tool_code,
            measure.counts(key_area, measures),
            int(n),
            int(fen),
        )
        figures.reversed_n += int(reversed_n)
        figures.reversed_fen += int(reversed_fen)
    if by_institution:
        _fold_institutions(
            figures, conn.execute(_tally_institution_query(year, first, last, conditions)), measure
        )


def _fold_drawdowns(
    conn: Connection,
    figures: _Figures,
    start: date,
    end: date,
    as_of: date,
    scope: _Scope,
    by_institution: bool,
    measure: _Measure,
) -> None:
    """A month cut short by the period, [start, end], reversals counted as of `as_of` (the period's end)."""
    conditions = scope.on(_D)
    # At most 31 × tools × 2 × measure sets rows.
    for day, tool_code, key_area, measures, n, fen in conn.execute(
        _day_tool_query(start, end, conditions)
    ).all():
        _fold(figures, str(day)[:7], tool_code, measure.counts(key_area, measures), int(n), int(fen))
    if by_institution:  # a second scan of the same index range, sorted by bank: skip it when not shown
        _fold_institutions(figures, conn.execute(_institution_query(start, end, conditions)), measure)
    reversed_by = _reversed_query(start, end, conditions).where(_E.c.event_on <= as_of)
    for day, tool_code, key_area, measures, institution_id, fen in conn.execute(reversed_by):
        figures.add_single(day, tool_code, measure.counts(key_area, measures), institution_id, int(fen), -1)


# -- as booked and as known ---------------------------------------------------------------------------------------
ConfigOn = Callable[[date], Config]


def _facts_now(conn: Connection, enterprise_ids: Iterable[int]) -> dict[int, EnterpriseFacts]:
    """Each borrower as the ledger knows it now: industry, size and every status recorded."""
    ids = sorted(set(enterprise_ids))
    out: dict[int, EnterpriseFacts] = {}
    for begin in range(0, len(ids), 500):
        chunk = ids[begin : begin + 500]
        statuses: dict[int, list[StatusEntry]] = {}
        for eid, status, valid_from, valid_to in conn.execute(
            select(_ST.c.enterprise_id, _ST.c.status, _ST.c.valid_from, _ST.c.valid_to).where(
                _ST.c.enterprise_id.in_(chunk)
            )
        ):
            statuses.setdefault(int(eid), []).append(
                StatusEntry(status, _as_date(valid_from), _as_date(valid_to) if valid_to else None)
            )
        for eid, uscc, industry, size in conn.execute(
            select(_N.c.id, _N.c.uscc, _N.c.industry_code, _N.c.size).where(_N.c.id.in_(chunk))
        ):
            out[int(eid)] = EnterpriseFacts(uscc, industry, size, tuple(statuses.get(int(eid), ())))
    return out


def _known(facts: EnterpriseFacts, on: date, measure: str, config: Config, tool_code: str) -> KeyAreaDecision:
    if measure == TARGET:
        tool = config.catalogue.find(tool_code)
        problem = eligibility_problem(tool.eligibility, facts, on) if tool is not None else "未知工具"
        return KeyAreaDecision(problem is None, problem or "符合工具支持对象")
    return classify(facts, on, config.definitions()[measure])


def _late_changes(conn: Connection) -> dict[int, int]:
    """Borrower → the last audit record that changed what the ledger knows of it (a status recorded, its
    industry or size corrected) after the ledger's first drawdown: a drawdown booked under an earlier record may
    be classified differently now. Statuses and corrections recorded before any drawdown (a ledger's reference
    data loaded first, as the demo and most imports do) change nothing and are not returned."""
    first = conn.execute(select(func.min(_D.c.audit_id))).scalar()
    if first is None:
        return {}
    late: dict[int, int] = {}
    statuses = (
        select(_ST.c.enterprise_id, func.max(_ST.c.audit_id))
        .where(_ST.c.audit_id > first)
        .group_by(_ST.c.enterprise_id)
    )
    for eid, audit_id in conn.execute(statuses):
        late[int(eid)] = int(audit_id)
    updates = (
        select(_N.c.id, func.max(_A.c.id))
        .select_from(_A.join(_N, _N.c.uscc == _A.c.entity_id))
        .where(_A.c.entity == "enterprise", _A.c.action == "update", _A.c.id > first)
        .group_by(_N.c.id)
    )
    for eid, audit_id in conn.execute(updates):
        late[int(eid)] = max(late.get(int(eid), 0), int(audit_id))
    return late


def reclassified(
    conn: Connection,
    config_on: ConfigOn,
    start: date,
    end: date,
    scope: _Scope,
    measure: _Measure,
) -> list[Reclassified]:
    """The drawdowns in the period and scope (not reversed by `end`) whose classification in `measure` as now
    known differs from the one stored at booking. Only borrowers whose facts changed after a drawdown was booked
    can differ, so only their drawdowns are read (ix_drawdown_enterprise), never the whole period."""
    late = _late_changes(conn)
    if not late:
        return []
    reversal = (
        select(_E.c.id)
        .where(_E.c.drawdown_id == _D.c.id, _E.c.kind == "reversal", _E.c.event_on <= end)
        .correlate(_D)
        .exists()
    )
    candidates = []
    ids = sorted(late)
    for begin in range(0, len(ids), 500):
        chunk = ids[begin : begin + 500]
        query = select(
            _D.c.id,
            _D.c.drawn_on,
            _D.c.tool_code,
            _D.c.institution_id,
            _D.c.office,
            _D.c.amount_fen,
            _D.c.key_area,
            _D.c.key_area_reason,
            _D.c.measures,
            _D.c.enterprise_id,
            _D.c.audit_id,
        ).where(
            _D.c.enterprise_id.in_(chunk),
            _D.c.audit_id < max(late[e] for e in chunk),
            _D.c.drawn_on >= start,
            _D.c.drawn_on <= end,
            ~reversal,
            *scope.on(_D),
        )
        for row in conn.execute(query):
            if int(row[10]) < late[int(row[9])] and (measure.stored_flag or row[8] is not None):
                candidates.append(row)
    facts = _facts_now(conn, (int(r[9]) for r in candidates))
    out = []
    for r in candidates:
        day = _as_date(r[1])
        booked = measure.counts(r[6], r[8])
        decision = _known(facts[int(r[9])], day, measure.name, config_on(day), r[2])
        if decision.key_area != booked:
            booked_reason = r[7] if measure.stored_flag else ("计入" if booked else "不计入") + measure.label
            out.append(
                Reclassified(
                    int(r[0]),
                    day,
                    r[2],
                    int(r[3]),
                    r[4],
                    int(r[5]),
                    booked,
                    decision.key_area,
                    booked_reason,
                    decision.reason,
                    "登记后借款人信息有变(资质补录或行业、规模更正):"
                    + ("现计入" if decision.key_area else "现不计入")
                    + measure.label,
                )
            )
    return sorted(out, key=lambda x: (x.drawn_on, x.id))


def _legacy(
    conn: Connection,
    figures: _Figures,
    config_on: ConfigOn,
    start: date,
    end: date,
    scope: _Scope,
    measure: _Measure,
) -> None:
    """Drawdowns booked before measures were kept (measures NULL) have no booked classification in a measure
    other than key_area: those in the period that the measure takes as now known are added to its numerator.
    Reads only such drawdowns (none in a ledger created with measures)."""
    if measure.stored_flag:
        return
    reversal = (
        select(_E.c.id)
        .where(_E.c.drawdown_id == _D.c.id, _E.c.kind == "reversal", _E.c.event_on <= end)
        .correlate(_D)
        .exists()
    )
    rows = conn.execute(
        select(_D.c.drawn_on, _D.c.tool_code, _D.c.institution_id, _D.c.amount_fen, _D.c.enterprise_id).where(
            _D.c.measures.is_(None), _D.c.drawn_on >= start, _D.c.drawn_on <= end, ~reversal, *scope.on(_D)
        )
    ).all()
    if not rows:
        return
    facts = _facts_now(conn, (int(r[4]) for r in rows))
    for day, tool_code, institution_id, fen, eid in rows:
        on = _as_date(day)
        if _known(facts[int(eid)], on, measure.name, config_on(on), tool_code).key_area:
            figures.move_key(on, tool_code, int(institution_id), int(fen))


def _institution_labels(conn: Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    wanted = sorted(set(ids))
    out: dict[int, tuple[str, str]] = {}
    for begin in range(0, len(wanted), 500):
        chunk = wanted[begin : begin + 500]
        for row in conn.execute(select(_I.c.id, _I.c.code, _I.c.name).where(_I.c.id.in_(chunk))):
            out[int(row[0])] = (str(row[1]), str(row[2]))
    return out


def _rows(accs: Mapping[Any, _Acc], labels: Mapping[Any, tuple[str, str]]) -> list[ShareRow]:
    rows = []
    for k, acc in accs.items():
        if acc.n == 0 and acc.total == 0:
            continue  # every drawdown of the group was reversed
        key, label = labels.get(k, (str(k), str(k)))
        rows.append(ShareRow(key, label, acc.key, acc.total, acc.n))
    return sorted(rows, key=lambda r: r.key)


def _result(
    config: Config,
    year: int,
    start: date,
    end: date,
    scope: _Scope,
    figures: _Figures,
    institution_labels: Mapping[int, tuple[str, str]],
    measure: _Measure | None = None,
    basis: str = "booked",
    changed: list[Reclassified] | None = None,
) -> ShareResult:
    tool_labels = {t.code: (t.code, t.name) for t in config.catalogue}
    months: dict[str, _Acc] = {}
    for y, m in _months(start, end):
        key = f"{y:04d}-{m:02d}"
        months[key] = figures.months.get(key, _Acc())
    by_month = [
        ShareRow(k, f"{k[:4]}年{int(k[5:])}月", acc.key, acc.total, acc.n) for k, acc in months.items()
    ]
    total = figures.total
    kind, room = headroom(total.key, total.total, config.threshold)
    measure = measure or _Measure(KEY_AREA, config.key_areas.label)
    return ShareResult(
        year=year,
        as_of=end,
        scope=dict(scope.scope),
        threshold=config.threshold,
        key_area_fen=total.key,
        total_fen=total.total,
        drawdowns=total.n,
        share=exact_ratio(total.key, total.total),
        status="pass" if passes(total.key, total.total, config.threshold) else "fail",
        headroom_kind=kind,
        headroom_fen=room,
        by_tool=_rows(figures.tools, tool_labels),
        by_month=by_month,
        by_institution=_rows(figures.institutions, institution_labels),
        reversed_drawdowns=figures.reversed_n,
        reversed_fen=figures.reversed_fen,
        scope_label=scope.label,
        period_start=start,
        measure=measure.name,
        measure_label=measure.label,
        basis=basis,
        reclassified=changed or [],
    )


def default_basis(end: date, today: date | None = None) -> str:
    """'known' for a period ending in the year in progress (or later), 'booked' for one of a past year: a past
    year's figures are what was reported."""
    return "known" if end.year >= (today or date.today()).year else "booked"


def compute_share(
    conn: Connection,
    config: Config,
    year: int | None = None,
    as_of: date | None = None,
    *,
    kind: str | None = None,
    tool_code: str | None = None,
    institution_code: str | None = None,
    by_institution: bool = True,
    start: date | None = None,
    end: date | None = None,
    office: str | None = None,
    measure: str | None = None,
    basis: str | None = None,
    config_on: ConfigOn | None = None,
) -> ShareResult:
    """The share of `year` up to `as_of` (default the year's end), or of the period `start`…`end`, within the
    scope given, in `measure` (default the rule's, share.measure), as booked or as now known (default
    default_basis). `by_institution=False` leaves the bank breakdown empty and saves its scan (the headline
    figures and the check batch do not need it). `config_on`: the policy in force on a date (for the measure's
    definition as now known; default `config` for every date)."""
    first, last = period(year, as_of, start=start, end=end)
    chosen = _measure(config, measure)
    basis = basis or default_basis(last)
    if basis not in BASES:
        raise ValidationError.single("basis", basis, "应为 booked(按登记时) 或 known(按现知)")
    scope = _scope(conn, config, kind, tool_code, institution_code, office)
    figures = _gather(conn, first, last, scope, by_institution, chosen)
    on = config_on or (lambda _day: config)
    _legacy(conn, figures, on, first, last, scope, chosen)
    changed = reclassified(conn, on, first, last, scope, chosen)
    if basis == "known":
        for r in changed:
            figures.move_key(
                r.drawn_on, r.tool_code, r.institution_id, r.amount_fen if r.known else -r.amount_fen
            )
    if not by_institution:
        figures.institutions.clear()  # reversals were folded in per bank; no bank rows without their totals
    labels = _institution_labels(conn, figures.institutions)
    return _result(config, first.year, first, last, scope, figures, labels, chosen, basis, changed)


class PreparedLike(Protocol):
    """What preview needs of ledger.services.drawdown_rules.PreparedDrawdown (not imported: sibling layer)."""

    @property
    def values(self) -> dict[str, Any]: ...


def preview_share(
    conn: Connection,
    config: Config,
    prepared: PreparedLike,
    as_of: date | None = None,
    *,
    kind: str | None = None,
    tool_code: str | None = None,
    institution_code: str | None = None,
) -> tuple[ShareResult, ShareResult]:
    """(before, after) for the drawdown's year, as if it were booked; nothing is written. A drawdown outside the
    scope or after as_of leaves the figures unchanged, exactly as booking it would."""
    values = prepared.values
    drawn_on = _as_date(values["drawn_on"])
    year = drawn_on.year
    start, end = period(year, as_of)
    scope = _scope(conn, config, kind, tool_code, institution_code)
    figures = _gather(conn, start, end, scope)
    after = figures.copy()
    institution_id = values.get("institution_id")
    if start <= drawn_on <= end and scope.admits(values["tool_code"], institution_id):
        after.add_single(
            drawn_on,
            values["tool_code"],
            bool(values["key_area"]),
            int(institution_id or 0),
            int(values["amount_fen"]),
            +1,
        )
    labels = _institution_labels(conn, set(figures.institutions) | set(after.institutions))
    return (
        _result(config, year, start, end, scope, figures, labels),
        _result(config, year, start, end, scope, after, labels),
    )


# -- drill-down ---------------------------------------------------------------------------------------------------
def explain(key_area: bool, reason: str, reversed_: bool) -> str:
    """Why a drawdown counted in a figure, or did not, in the words an operator checks against the loan file."""
    if reversed_:
        return "已冲正,不计入分子和分母"
    if key_area:
        return f"计入重点领域(分子和分母):{reason}"
    return f"仅计入全部发放(分母):{reason or '非重点领域'}"


def drilldown(
    conn: Connection,
    year: int | None,
    as_of: date | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    office: str | None = None,
    key_area: bool | None = None,
    tool_code: str | None = None,
    institution_code: str | None = None,
    month: str | None = None,
    kind: str | None = None,
    include_reversed: bool = False,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The drawdowns behind a figure, a page at a time (ordered by drawn_on, id), each with the reason it counted
    or did not. Reversed ones (by the period's end: a reversal counts from its date) are behind no figure;
    `include_reversed` lists them too, marked."""
    start, end = period(year, as_of, start=start, end=end)
    if month:
        try:
            y, m = parse_month(month)
        except ValueError as exc:
            raise ValidationError.single("month", month, str(exc)) from exc
        first, last = month_bounds(y, m)
        if last < start or first > end:
            raise ValidationError.single("month", month, "月份须在期间内 (month must fall in the period)")
        start, end = max(start, first), min(end, last)
    limit = max(0, min(int(limit), 10_000))
    reversal = (
        select(_E.c.id)
        .where(_E.c.drawdown_id == _D.c.id, _E.c.kind == "reversal", _E.c.event_on <= end)
        .correlate(_D)
        .exists()
    )
    conditions: list[Any] = [_D.c.drawn_on >= start, _D.c.drawn_on <= end]
    if office is not None:
        conditions.append(_D.c.office == office.strip())
    if key_area is not None:
        conditions.append(_D.c.key_area.is_(True) if key_area else _D.c.key_area.is_(False))
    if tool_code:
        conditions.append(_D.c.tool_code == tool_code)
    if kind:
        conditions.append(_T.c.kind == kind)
    if institution_code:
        conditions.append(_I.c.code == institution_code)
    if not include_reversed:
        conditions.append(~reversal)
    query = (
        select(
            _D.c.id,
            _D.c.drawn_on,
            _D.c.maturity_on,
            _D.c.tool_code,
            _T.c.name,
            _I.c.code,
            _I.c.name,
            _N.c.uscc,
            _N.c.name,
            _N.c.industry_code,
            _D.c.amount_fen,
            _D.c.key_area,
            _D.c.key_area_reason,
            _D.c.override_reason,
            _D.c.bill_no,
            _D.c.ext_ref,
            reversal.label("reversed"),
            _D.c.office,
            _D.c.measures,
        )
        .select_from(
            _D.join(_T, _T.c.code == _D.c.tool_code)
            .join(_I, _I.c.id == _D.c.institution_id)
            .join(_N, _N.c.id == _D.c.enterprise_id)
        )
        .where(and_(*conditions))
        .order_by(_D.c.drawn_on, _D.c.id)
        .limit(limit)
        .offset(max(0, int(offset)))
    )
    out = []
    for r in conn.execute(query):
        reversed_ = bool(r[16])
        out.append(
            {
                "id": int(r[0]),
                "drawn_on": _as_date(r[1]),
                "maturity_on": _as_date(r[2]),
                "tool_code": r[3],
                "tool_name": r[4],
                "institution_code": r[5],
                "institution_name": r[6],
                "enterprise_uscc": r[7],
                "enterprise_name": r[8],
                "industry_code": r[9],
                "amount_fen": int(r[10]),
                "amount": fen_to_yuan(int(r[10])),
                "key_area": bool(r[11]),
                "key_area_reason": r[12],
                "override_reason": r[13],
                "bill_no": r[14],
                "ext_ref": r[15],
                "office": r[17],
                "measures": r[18],
                "reversed": reversed_,
                "counted": not reversed_,
                "explanation": explain(bool(r[11]), r[12], reversed_),
            }
        )
    return out
