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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any, Protocol

from sqlalchemy import Connection, Select, String, and_, case, func, select, type_coerce

from ledger.config import Config
from ledger.db.engine import CACHED_PAGE_COSTS, pg_local_settings
from ledger.db.models import Drawdown, DrawdownEvent, Enterprise, Institution, ShareMonth, ToolRecord
from ledger.domain.dates import MAX_DATE, MIN_DATE, YEAR_RULE, month_bounds, parse_month
from ledger.domain.errors import NotFound, ValidationError
from ledger.domain.money import fen_to_yuan, round_half_up

KINDS = ("relending", "rediscount")
HEADROOM_KINDS = ("more_non_key_allowed", "key_area_needed", "none")

_D = Drawdown.__table__  # type: ignore[attr-defined]
_E = DrawdownEvent.__table__  # type: ignore[attr-defined]
_I = Institution.__table__  # type: ignore[attr-defined]
_N = Enterprise.__table__  # type: ignore[attr-defined]
_T = ToolRecord.__table__  # type: ignore[attr-defined]
_S = ShareMonth.__table__  # type: ignore[attr-defined]


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
            "as_of": self.as_of.isoformat(),
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

    def on(self, table: Any) -> tuple[Any, ...]:
        """The scope as conditions on a table with tool_code and institution_id (drawdown or share_month)."""
        conditions: list[Any] = []
        if self.tool_codes is not None:
            codes = sorted(self.tool_codes)
            conditions.append(
                table.c.tool_code.in_(codes) if len(codes) != 1 else table.c.tool_code == codes[0]
            )
        if self.institution_id is not None:
            conditions.append(table.c.institution_id == self.institution_id)
        return tuple(conditions)

    def admits(self, tool_code: str, institution_id: int | None) -> bool:
        if self.tool_codes is not None and tool_code not in self.tool_codes:
            return False
        return self.institution_id is None or institution_id == self.institution_id


def period(year: int, as_of: date | None = None) -> tuple[date, date]:
    """The calendar year up to as_of (default: the year's last day, i.e. everything booked in the year)."""
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise ValidationError.single("year", year, YEAR_RULE)
    start = date(year, 1, 1)
    end = as_of or date(year, 12, 31)
    if not start <= end <= date(year, 12, 31):
        raise ValidationError.single("as_of", end, f"截止日须在{year}年内 (as_of must fall in the year)")
    return start, end


def _scope(
    conn: Connection, config: Config, kind: str | None, tool_code: str | None, institution_code: str | None
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
    return _Scope(
        scope,
        " / ".join(labels) or "全辖",
        kind,
        frozenset(codes) if codes is not None else None,
        institution_id,
    )


# -- the queries --------------------------------------------------------------------------------------------------
def _day_tool_query(start: date, end: date, conditions: Iterable[Any]) -> Select[Any]:
    """The one grouping every period figure comes from; its columns lead ix_drawdown_share, so SQLite streams
    the groups straight off the index with no sort and PostgreSQL can answer from an index-only scan."""
    return (
        # The day only feeds the month key, so it is read as text: no date object built per group.
        select(
            type_coerce(_D.c.drawn_on, String),
            _D.c.tool_code,
            _D.c.key_area,
            func.count(),
            func.sum(_D.c.amount_fen),
        )
        .where(_D.c.drawn_on >= start, _D.c.drawn_on <= end, *conditions)
        .group_by(_D.c.drawn_on, _D.c.tool_code, _D.c.key_area)
    )


def _institution_query(start: date, end: date, conditions: Iterable[Any]) -> Select[Any]:
    """Banks are not in index order, so SQLite sorts here: grouping on the bank alone, with the key-area sum as a
    conditional aggregate, halves the groups and sorts on one key (≈15% less CPU than grouping on both)."""
    key_fen = case((_D.c.key_area.is_(True), _D.c.amount_fen), else_=0)
    return (
        select(_D.c.institution_id, func.count(), func.sum(_D.c.amount_fen), func.sum(key_fen))
        .where(_D.c.drawn_on >= start, _D.c.drawn_on <= end, *conditions)
        .group_by(_D.c.institution_id)
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
        select(_D.c.drawn_on, _D.c.tool_code, _D.c.key_area, _D.c.institution_id, _D.c.amount_fen)
        .select_from(_E.join(_D, _D.c.id == _E.c.drawdown_id))
        .where(_E.c.kind == "reversal", effective, _D.c.drawn_on >= start, _D.c.drawn_on <= end, *conditions)
    )


def _tally_query(year: int, months: int, conditions: Iterable[Any]) -> Select[Any]:
    """Whole months of the period from share_month: at most months × tools × 2 groups, read in primary-key order."""
    return (
        select(
            _S.c.month,
            _S.c.tool_code,
            _S.c.key_area,
            func.sum(_S.c.drawdowns),
            func.sum(_S.c.amount_fen),
            func.sum(_S.c.reversed),
            func.sum(_S.c.reversed_fen),
        )
        .where(_S.c.year == year, _S.c.month <= months, *conditions)
        .group_by(_S.c.month, _S.c.tool_code, _S.c.key_area)
    )


def _tally_institution_query(year: int, months: int, conditions: Iterable[Any]) -> Select[Any]:
    key_fen = case((_S.c.key_area.is_(True), _S.c.amount_fen), else_=0)
    return (
        select(_S.c.institution_id, func.sum(_S.c.drawdowns), func.sum(_S.c.amount_fen), func.sum(key_fen))
        .where(_S.c.year == year, _S.c.month <= months, *conditions)
        .group_by(_S.c.institution_id)
    )


def whole_months(end: date) -> int:
    """How many months of a period ending on `end` are over by then (Jan..end's month, less a month cut short)."""
    return end.month if (end + timedelta(days=1)).month != end.month else end.month - 1


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


def _gather(conn: Connection, start: date, end: date, scope: _Scope, by_institution: bool = True) -> _Figures:
    with pg_local_settings(conn, **CACHED_PAGE_COSTS):
        return _gather_rows(conn, start, end, scope, by_institution)


def _gather_rows(conn: Connection, start: date, end: date, scope: _Scope, by_institution: bool) -> _Figures:
    """Whole months from share_month; the month that as_of cuts short, if any, from the drawdowns themselves."""
    figures = _Figures()
    full = whole_months(end)
    if full:
        _fold_tally(conn, figures, start.year, full, scope, by_institution)
        # share_month is net of every reversal; one effective after `end` still counts as of `end`: add it back.
        last_full = month_bounds(start.year, full)[1]
        for day, tool_code, key_area, institution_id, fen in conn.execute(
            _reversed_query(start, last_full, scope.on(_D), effective_after=end)
        ):
            figures.add_single(day, tool_code, bool(key_area), institution_id, int(fen), +1)
            figures.reversed_n -= 1
            figures.reversed_fen -= int(fen)
    if full < end.month:
        _fold_drawdowns(conn, figures, max(start, date(end.year, full + 1, 1)), end, scope, by_institution)
    return figures


def _fold(figures: _Figures, month: str, tool_code: str, key_area: Any, n: int, fen: int) -> None:
    key = fen if key_area else 0
    tools, months = figures.tools, figures.months
    for acc in (
        figures.total,
        tools.get(tool_code) or tools.setdefault(tool_code, _Acc()),
        months.get(month) or months.setdefault(month, _Acc()),
    ):
        acc.n += n
        acc.total += fen
        acc.key += key


def _fold_institutions(figures: _Figures, rows: Iterable[Any]) -> None:
    for institution_id, n, fen, key_fen in rows:
        acc = figures.institutions.setdefault(int(institution_id), _Acc())
        acc.n, acc.total, acc.key = acc.n + int(n), acc.total + int(fen), acc.key + int(key_fen or 0)


def _fold_tally(
    conn: Connection, figures: _Figures, year: int, months: int, scope: _Scope, by_institution: bool
) -> None:
    conditions = scope.on(_S)
    for month, tool_code, key_area, n, fen, reversed_n, reversed_fen in conn.execute(
        _tally_query(year, months, conditions)
    ):
        _fold(figures, f"{year:04d}-{int(month):02d}", tool_code, key_area, int(n), int(fen))
        figures.reversed_n += int(reversed_n)
        figures.reversed_fen += int(reversed_fen)
    if by_institution:
        _fold_institutions(figures, conn.execute(_tally_institution_query(year, months, conditions)))


def _fold_drawdowns(
    conn: Connection, figures: _Figures, start: date, end: date, scope: _Scope, by_institution: bool
) -> None:
    conditions = scope.on(_D)
    # At most 31 × tools × 2 rows: the month that as_of cuts short.
    for day, tool_code, key_area, n, fen in conn.execute(_day_tool_query(start, end, conditions)).all():
        _fold(figures, str(day)[:7], tool_code, key_area, int(n), int(fen))
    if by_institution:  # a second scan of the same index range, sorted by bank: skip it when not shown
        _fold_institutions(figures, conn.execute(_institution_query(start, end, conditions)))
    for day, tool_code, key_area, institution_id, fen in conn.execute(
        _reversed_query(start, end, conditions)
    ):
        figures.add_single(day, tool_code, bool(key_area), institution_id, int(fen), -1)


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
) -> ShareResult:
    tool_labels = {t.code: (t.code, t.name) for t in config.catalogue}
    months: dict[str, _Acc] = {}
    for month in range(1, end.month + 1):
        key = f"{year:04d}-{month:02d}"
        months[key] = figures.months.get(key, _Acc())
    by_month = [
        ShareRow(k, f"{year}年{int(k[5:])}月", acc.key, acc.total, acc.n) for k, acc in months.items()
    ]
    total = figures.total
    kind, room = headroom(total.key, total.total, config.threshold)
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
    )


def compute_share(
    conn: Connection,
    config: Config,
    year: int,
    as_of: date | None = None,
    *,
    kind: str | None = None,
    tool_code: str | None = None,
    institution_code: str | None = None,
    by_institution: bool = True,
) -> ShareResult:
    """The share of `year` up to `as_of` (default the year's end) within the scope given. `by_institution=False`
    leaves the bank breakdown empty and saves its scan (the headline figures and the check batch do not need it)."""
    start, end = period(year, as_of)
    scope = _scope(conn, config, kind, tool_code, institution_code)
    figures = _gather(conn, start, end, scope, by_institution)
    if not by_institution:
        figures.institutions.clear()  # reversals were folded in per bank; no bank rows without their totals
    return _result(config, year, start, end, scope, figures, _institution_labels(conn, figures.institutions))


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
    year: int,
    as_of: date | None = None,
    *,
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
    or did not. Reversed ones are behind no figure; `include_reversed` lists them too, marked."""
    start, end = period(year, as_of)
    if month:
        try:
            y, m = parse_month(month)
        except ValueError as exc:
            raise ValidationError.single("month", month, str(exc)) from exc
        if y != year:
            raise ValidationError.single("month", month, f"月份须在{year}年内 (month must fall in the year)")
        first, last = month_bounds(y, m)
        start, end = max(start, first), min(end, last)
    limit = max(0, min(int(limit), 10_000))
    reversal = (
        select(_E.c.id).where(_E.c.drawdown_id == _D.c.id, _E.c.kind == "reversal").correlate(_D).exists()
    )
    conditions: list[Any] = [_D.c.drawn_on >= start, _D.c.drawn_on <= end]
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
                "reversed": reversed_,
                "counted": not reversed_,
                "explanation": explain(bool(r[11]), r[12], reversed_),
            }
        )
    return out
