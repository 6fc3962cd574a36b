"""Read-only queries the terminal UI needs: paged, filtered, sorted lists and small dashboard figures.

Why a module of its own: the UI must never load a table into Python. Every function here returns one page (LIMIT /
OFFSET over an indexed order), one capped count, or a handful of aggregate rows computed in SQL over integer fen
columns, so the screens stay fast on a 1,000,000-drawdown ledger. Nothing here writes; bookings and events go
through the facade. Queries are SQLAlchemy Core over the model tables, so SQLite and PostgreSQL share one code path
and dates come back as `date` on both.

`today` is always a parameter (never the database's clock), so a screen, a test and a snapshot agree on what is
"outstanding" or "maturing".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    exists,
    func,
    inspect,
    literal,
    or_,
    select,
)

from ledger.db.models import (
    AuditLog,
    Drawdown,
    DrawdownEvent,
    Enterprise,
    EnterpriseStatus,
    Institution,
    ReportRecord,
    ToolRecord,
)
from ledger.domain.uscc import CHARSET

D = Drawdown.__table__  # type: ignore[attr-defined]
EV = DrawdownEvent.__table__  # type: ignore[attr-defined]
ENT = Enterprise.__table__  # type: ignore[attr-defined]
INST = Institution.__table__  # type: ignore[attr-defined]
STATUS = EnterpriseStatus.__table__  # type: ignore[attr-defined]
AUDIT = AuditLog.__table__  # type: ignore[attr-defined]
REPORT = ReportRecord.__table__  # type: ignore[attr-defined]
TOOL = ToolRecord.__table__  # type: ignore[attr-defined]

STATUSES = ("outstanding", "matured", "repaid", "reversed", "future")
SORTS = ("id", "drawn_on", "maturity_on", "amount")
COUNT_CAP = 10_000


@dataclass(frozen=True)
class DrawdownFilter:
    """What the operator narrowed the list to; every field maps to one indexed SQL condition."""

    tool_code: str | None = None
    institution_code: str | None = None
    month: str | None = None  # YYYY-MM of drawn_on
    key_area: bool | None = None
    status: str | None = None  # one of STATUSES
    text: str = ""  # enterprise name, USCC (prefix) or bill number (prefix)
    sort: str = "id"
    descending: bool = True
    drawdown_id: int | None = None  # one drawdown, opened from the dashboard or a drill-down

    @property
    def is_empty(self) -> bool:
        return not (
            self.tool_code
            or self.institution_code
            or self.month
            or self.key_area is not None
            or self.status
            or self.text.strip()
            or self.drawdown_id is not None
        )


@dataclass(frozen=True)
class DrawdownRow:
    id: int
    tool_code: str
    institution_name: str
    enterprise_name: str
    uscc: str
    drawn_on: date
    maturity_on: date  # current, after rollovers
    amount_fen: int
    key_area: bool
    status: str
    bill_no: str | None


# -- the per-drawdown event facts, as correlated scalar subqueries (index ix_drawdown_event_drawdown) ------------
def _reversed() -> ColumnElement[bool]:
    return exists().where(and_(EV.c.drawdown_id == D.c.id, EV.c.kind == "reversal"))


def _repaid_fen() -> Any:
    return func.coalesce(
        select(func.sum(EV.c.amount_fen))
        .where(and_(EV.c.drawdown_id == D.c.id, EV.c.kind == "repayment"))
        .scalar_subquery(),
        0,
    )


def _current_maturity() -> Any:
    return func.coalesce(
        select(func.max(EV.c.new_maturity_on))
        .where(and_(EV.c.drawdown_id == D.c.id, EV.c.kind == "rollover"))
        .scalar_subquery(),
        D.c.maturity_on,
    )


def _status_expr(today: date) -> Any:
    return case(
        (_reversed(), literal("reversed")),
        (_repaid_fen() >= D.c.amount_fen, literal("repaid")),
        (_current_maturity() <= today, literal("matured")),
        (D.c.drawn_on > today, literal("future")),
        else_=literal("outstanding"),
    )


def _status_condition(status: str, today: date) -> ColumnElement[bool]:
    """Each status starts with a condition an index can serve (maturity, drawn_on, or the small event table's
    ids), so the per-row event subqueries only run on candidates, not on a million rows."""
    live = ~_reversed()
    not_repaid = _repaid_fen() < D.c.amount_fen
    rolled_past = select(EV.c.drawdown_id).where(EV.c.kind == "rollover", EV.c.new_maturity_on > today)
    if status == "reversed":
        return D.c.id.in_(select(EV.c.drawdown_id).where(EV.c.kind == "reversal"))
    if status == "repaid":
        repaid_ids = select(EV.c.drawdown_id).where(EV.c.kind == "repayment")
        return and_(D.c.id.in_(repaid_ids), live, ~not_repaid)
    if status == "matured":
        # Rollovers only extend: a matured drawdown's booked maturity is already past.
        return and_(D.c.maturity_on <= today, live, not_repaid, _current_maturity() <= today)
    if status == "future":
        return and_(D.c.drawn_on > today, live, not_repaid, _current_maturity() > today)
    if status == "outstanding":
        still_running = or_(D.c.maturity_on > today, D.c.id.in_(rolled_past))
        # drawn_on <= today holds for nearly every row; written so no planner picks the drawn_on index for it
        # (that walks the whole ledger oldest first) over the maturity index, which finds the few running ones.
        already_drawn = case((D.c.drawn_on <= today, 1), else_=0) == 1
        return and_(still_running, already_drawn, live, not_repaid, _current_maturity() > today)
    raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")


def _digit_prefix_range(prefix: str) -> tuple[str, str | None]:
    """[prefix, next prefix) so a prefix search on a digit column uses its btree index on both backends."""
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return prefix, (upper if len(upper) == len(prefix) else None)


def _text_condition(text: str) -> ColumnElement[bool]:
    """Bill numbers are digits (prefix on ix_drawdown_bill); a USCC-shaped text is a prefix on the unique index;
    anything else searches enterprise names and resolves to ids, which ix_drawdown_enterprise then serves."""
    needle = text.strip()
    if needle.isdigit() and len(needle) >= 6:
        low, high = _digit_prefix_range(needle)
        bill = D.c.bill_no >= low if high is None else and_(D.c.bill_no >= low, D.c.bill_no < high)
        if len(needle) <= 18:  # could also be the digit-only start of a USCC
            by_uscc = D.c.enterprise_id.in_(select(ENT.c.id).where(ENT.c.uscc.like(needle + "%")))
            return or_(bill, by_uscc)
        return bill
    upper = needle.upper()
    if len(upper) >= 6 and all(ch in CHARSET for ch in upper):
        return D.c.enterprise_id.in_(
            select(ENT.c.id).where(or_(ENT.c.uscc.like(upper + "%"), ENT.c.name.like(f"%{needle}%")))
        )
    return D.c.enterprise_id.in_(select(ENT.c.id).where(ENT.c.name.like(f"%{needle}%")))


def _month_range(month: str) -> tuple[date, date]:
    year, mon = (int(x) for x in month.split("-"))
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def _conditions(flt: DrawdownFilter, today: date) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.drawdown_id is not None:
        conds.append(D.c.id == flt.drawdown_id)
    if flt.tool_code:
        conds.append(D.c.tool_code == flt.tool_code)
    if flt.institution_code:
        conds.append(D.c.institution_id.in_(select(INST.c.id).where(INST.c.code == flt.institution_code)))
    if flt.month:
        start, end = _month_range(flt.month)
        conds.append(and_(D.c.drawn_on >= start, D.c.drawn_on < end))
    if flt.key_area is not None:
        conds.append(D.c.key_area == flt.key_area)
    if flt.status:
        conds.append(_status_condition(flt.status, today))
    if flt.text.strip():
        conds.append(_text_condition(flt.text))
    return conds


def _order(flt: DrawdownFilter) -> list[Any]:
    column = {
        "id": D.c.id,
        "drawn_on": D.c.drawn_on,
        "maturity_on": D.c.maturity_on,
        "amount": D.c.amount_fen,
    }[flt.sort if flt.sort in SORTS else "id"]
    if column is D.c.id:
        return [D.c.id.desc() if flt.descending else D.c.id.asc()]
    if flt.descending:
        return [column.desc(), D.c.id.desc()]
    return [column.asc(), D.c.id.asc()]


def _reverse_order(flt: DrawdownFilter) -> list[Any]:
    """The list's order backwards (for reading a window near its end)."""
    return _order(DrawdownFilter(**{**flt.__dict__, "descending": not flt.descending}))


def _interactive(conn: Connection) -> None:
    """PostgreSQL: no JIT for these short interactive queries. The correlated event subqueries inflate the
    planner's cost estimate past jit_above_cost, and compiling then takes ~300 ms for a query that runs in 100."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")


def drawdown_page(
    conn: Connection,
    flt: DrawdownFilter,
    today: date,
    offset: int,
    limit: int = 100,
    total: int | None = None,
) -> list[DrawdownRow]:
    """One window of the filtered, sorted list. Ids are chosen first over the drawdown table alone (index order,
    LIMIT/OFFSET), then only those rows are joined to names and event facts. With the exact `total` known, a window
    in the second half is read from the other end (the order reversed, a short OFFSET from the last row): End on a
    million rows then steps over a hundred index entries, not a million."""
    _interactive(conn)
    offset = max(offset, 0)
    order = _order(flt)
    from_end = total is not None and offset > total // 2
    if from_end and total is not None:
        limit = max(min(limit, total - offset), 0)
        offset = max(total - offset - limit, 0)
        order = _reverse_order(flt)
    ids = (
        select(D.c.id)
        .where(*_conditions(flt, today))
        .order_by(*order)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    query = (
        select(
            D.c.id,
            D.c.tool_code,
            INST.c.name,
            ENT.c.name,
            ENT.c.uscc,
            D.c.drawn_on,
            _current_maturity(),
            D.c.amount_fen,
            D.c.key_area,
            _status_expr(today),
            D.c.bill_no,
        )
        .select_from(
            ids.join(D, D.c.id == ids.c.id)
            .join(INST, INST.c.id == D.c.institution_id)
            .join(ENT, ENT.c.id == D.c.enterprise_id)
        )
        .order_by(*order)
    )
    rows = [_drawdown_row(r) for r in conn.execute(query)]
    return rows[::-1] if from_end else rows


def _drawdown_row(r: Any) -> DrawdownRow:
    """One list row from the columns every drawdown window selects, in that order."""
    return DrawdownRow(
        int(r[0]), r[1], r[2], r[3], r[4], _as_date(r[5]), _as_date(r[6]), int(r[7]), bool(r[8]), r[9], r[10]
    )


def count_drawdowns(
    conn: Connection, flt: DrawdownFilter, today: date, cap: int | None = COUNT_CAP
) -> tuple[int, bool]:
    """(count, exact). Without filters the count is exact (COUNT(*) over the primary key is fast on both
    backends); with filters it stops at `cap` + 1 rows, so a broad free-text filter never scans a million rows
    just to print a number: the screen then shows "≥10,000"."""
    _interactive(conn)
    conds = _conditions(flt, today)
    if not conds or cap is None:
        return int(conn.execute(select(func.count()).select_from(D).where(*conds)).scalar_one()), True
    inner = select(D.c.id).where(*conds).limit(cap + 1).subquery()
    n = int(conn.execute(select(func.count()).select_from(inner)).scalar_one())
    return (cap, False) if n > cap else (n, True)


def sum_drawdowns(conn: Connection, flt: DrawdownFilter, today: date) -> tuple[int, int]:
    """(count, amount in fen) of the whole filtered list, reversed drawdowns excluded: the list's 合计 row, summed
    in SQL over integer fen (never over the rows on screen)."""
    _interactive(conn)
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(D.c.amount_fen), 0)).where(
            *_conditions(flt, today), ~_reversed()
        )
    ).one()
    return int(row[0]), int(row[1])


def position_of(
    conn: Connection, flt: DrawdownFilter, today: date, drawdown_id: int, within: int = 5000
) -> int | None:
    """Where a drawdown sits in the current order (to keep the cursor on it after a refresh), if near the top."""
    rows = conn.execute(
        select(D.c.id).where(*_conditions(flt, today)).order_by(*_order(flt)).limit(within)
    ).all()
    for index, row in enumerate(rows):
        if int(row[0]) == drawdown_id:
            return index
    return None


def drawdown_detail(conn: Connection, drawdown_id: int, today: date) -> dict[str, Any] | None:
    """Every column of one drawdown with names, status and its events, for the detail pane."""
    row = conn.execute(
        select(
            D,
            INST.c.code.label("institution_code"),
            INST.c.name.label("institution_name"),
            ENT.c.name.label("enterprise_name"),
            ENT.c.uscc,
            ENT.c.industry_code,
            ENT.c.size,
            TOOL.c.name.label("tool_name"),
            TOOL.c.kind.label("tool_kind"),
            _current_maturity().label("current_maturity_on"),
            _repaid_fen().label("repaid_fen"),
            _status_expr(today).label("status"),
            AUDIT.c.actor.label("booked_by"),
            AUDIT.c.recorded_at.label("booked_at"),
        )
        .select_from(
            D.join(INST, INST.c.id == D.c.institution_id)
            .join(ENT, ENT.c.id == D.c.enterprise_id)
            .join(TOOL, TOOL.c.code == D.c.tool_code)
            .join(AUDIT, AUDIT.c.id == D.c.audit_id)
        )
        .where(D.c.id == drawdown_id)
    ).first()
    if row is None:
        return None
    detail = dict(row._mapping)
    for key in ("drawn_on", "maturity_on", "current_maturity_on"):
        detail[key] = _as_date(detail[key])
    detail["repaid_fen"] = int(detail["repaid_fen"] or 0)
    detail["events"] = [
        {
            "kind": r[0],
            "event_on": _as_date(r[1]),
            "amount_fen": r[2],
            "new_maturity_on": _as_date(r[3]) if r[3] else None,
            "reason": r[4],
        }
        for r in conn.execute(
            select(EV.c.kind, EV.c.event_on, EV.c.amount_fen, EV.c.new_maturity_on, EV.c.reason)
            .where(EV.c.drawdown_id == drawdown_id)
            .order_by(EV.c.id)
        )
    ]
    return detail


# -- reference data --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnterpriseRow:
    id: int
    uscc: str
    name: str
    industry_code: str
    size: str


def search_enterprises(conn: Connection, text: str, limit: int = 20) -> list[EnterpriseRow]:
    """Suggestions for the form and the Enterprises screen: a USCC prefix (unique index) or a name fragment."""
    needle = text.strip()
    query: Select[Any] = select(ENT.c.id, ENT.c.uscc, ENT.c.name, ENT.c.industry_code, ENT.c.size)
    if needle:
        upper = needle.upper()
        conds = [ENT.c.name.like(f"%{needle}%")]
        if all(ch in CHARSET for ch in upper):
            conds.append(ENT.c.uscc.like(upper + "%"))
        query = query.where(or_(*conds))
    rows = conn.execute(query.order_by(ENT.c.name, ENT.c.id).limit(limit)).all()
    return [EnterpriseRow(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


def enterprise_statuses(conn: Connection, enterprise_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(STATUS.c.status, STATUS.c.valid_from, STATUS.c.valid_to, STATUS.c.source)
        .where(STATUS.c.enterprise_id == enterprise_id)
        .order_by(STATUS.c.valid_from, STATUS.c.id)
    ).all()
    return [
        {
            "status": r[0],
            "valid_from": _as_date(r[1]),
            "valid_to": _as_date(r[2]) if r[2] else None,
            "source": r[3],
        }
        for r in rows
    ]


def enterprise_totals(conn: Connection, enterprise_id: int) -> tuple[int, int]:
    """(drawdowns, central-bank fen) booked for one borrower, reversals excluded; ix_drawdown_enterprise."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(D.c.amount_fen), 0)).where(
            D.c.enterprise_id == enterprise_id, ~_reversed()
        )
    ).one()
    return int(row[0]), int(row[1])


def institutions(conn: Connection) -> list[tuple[str, str, str]]:
    """(code, name, type) of every bank; a branch has tens of them, not thousands."""
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(select(INST.c.code, INST.c.name, INST.c.type).order_by(INST.c.code))
    ]


# -- dashboard -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToolFigures:
    tool_code: str
    month_fen: int
    ytd_fen: int
    ytd_drawdowns: int


def tool_figures(conn: Connection, today: date) -> dict[str, ToolFigures]:
    """Drawn this month and year to date per tool, reversals excluded; one pass over ix_drawdown_share's range."""
    year_start, month_start = date(today.year, 1, 1), date(today.year, today.month, 1)
    query = (
        select(
            D.c.tool_code,
            func.coalesce(func.sum(case((D.c.drawn_on >= month_start, D.c.amount_fen), else_=0)), 0),
            func.coalesce(func.sum(D.c.amount_fen), 0),
            func.count(),
        )
        .where(D.c.drawn_on >= year_start, D.c.drawn_on <= today, ~_reversed())
        .group_by(D.c.tool_code)
    )
    return {r[0]: ToolFigures(r[0], int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(query)}


def tool_month_figures(conn: Connection, today: date) -> dict[str, tuple[int, int]]:
    """Drawn this month per tool, reversals excluded: (fen, drawdowns) over one month of ix_drawdown_share's range
    (the year to date comes from the share rule's monthly summary, share_month)."""
    month_start = date(today.year, today.month, 1)
    query = (
        select(D.c.tool_code, func.coalesce(func.sum(D.c.amount_fen), 0), func.count())
        .where(D.c.drawn_on >= month_start, D.c.drawn_on <= today, ~_reversed())
        .group_by(D.c.tool_code)
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in conn.execute(query)}


def maturing_soon(
    conn: Connection, today: date, days: int = 30, limit: int = 100
) -> tuple[list[DrawdownRow], int]:
    """Live drawdowns whose current maturity falls in (today, today + days]: booked maturities through
    ix_drawdown_maturity plus rolled-over ones through the (small) event table. Returns (first rows, total)."""
    end = today + timedelta(days=days)
    booked_in_window = and_(D.c.maturity_on > today, D.c.maturity_on <= end)
    rolled_ids = select(EV.c.drawdown_id).where(
        EV.c.kind == "rollover", EV.c.new_maturity_on > today, EV.c.new_maturity_on <= end
    )
    current = _current_maturity()
    conds = [
        or_(booked_in_window, D.c.id.in_(rolled_ids)),
        current > today,
        current <= end,
        ~_reversed(),
        _repaid_fen() < D.c.amount_fen,
        D.c.drawn_on <= today,
    ]
    total = int(conn.execute(select(func.count()).select_from(D).where(*conds)).scalar_one())
    ids = select(D.c.id).where(*conds).order_by(current, D.c.id).limit(limit).subquery("soon")
    query = (
        select(
            D.c.id,
            D.c.tool_code,
            INST.c.name,
            ENT.c.name,
            ENT.c.uscc,
            D.c.drawn_on,
            current,
            D.c.amount_fen,
            D.c.key_area,
            literal("outstanding"),
            D.c.bill_no,
        )
        .select_from(
            ids.join(D, D.c.id == ids.c.id)
            .join(INST, INST.c.id == D.c.institution_id)
            .join(ENT, ENT.c.id == D.c.enterprise_id)
        )
        .order_by(current, D.c.id)
    )
    rows = [_drawdown_row(r) for r in conn.execute(query)]
    return rows, total


# -- audit, reports, views -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditFilter:
    """What the auditor narrowed the log to; each field is one equality or range on the audit table."""

    action: str | None = None
    actor: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    day_from: str | None = None  # 'YYYY-MM-DD' (recorded_at is ISO text: compared as text)
    day_to: str | None = None  # exclusive
    record_id: int | None = None
    word: str | None = None  # any of action, actor, entity, entity_id equal to it

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for column, value in (
            (AUDIT.c.action, self.action),
            (AUDIT.c.actor, self.actor),
            (AUDIT.c.entity, self.entity),
            (AUDIT.c.entity_id, self.entity_id),
        ):
            if value:
                out.append(column == value)
        if self.day_from:
            out.append(AUDIT.c.recorded_at >= self.day_from)
        if self.day_to:
            out.append(AUDIT.c.recorded_at < self.day_to)
        if self.record_id is not None:
            out.append(AUDIT.c.id == self.record_id)
        if self.word:
            out.append(
                or_(
                    AUDIT.c.action == self.word,
                    AUDIT.c.actor == self.word,
                    AUDIT.c.entity == self.word,
                    AUDIT.c.entity_id == self.word,
                )
            )
        return out


def audit_page(
    conn: Connection, offset: int = 0, limit: int = 200, flt: AuditFilter | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Newest first, one page, with the number of records (matching `flt`, when given)."""
    conds = flt.conditions() if flt is not None else []
    total = int(conn.execute(select(func.count()).select_from(AUDIT).where(*conds)).scalar_one())
    rows = conn.execute(
        select(
            AUDIT.c.id,
            AUDIT.c.recorded_at,
            AUDIT.c.actor,
            AUDIT.c.action,
            AUDIT.c.entity,
            AUDIT.c.entity_id,
            AUDIT.c.row_count,
            AUDIT.c.hash,
            AUDIT.c.payload,
        )
        .where(*conds)
        .order_by(AUDIT.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [dict(r._mapping) for r in rows], total


def report_records(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            REPORT.c.id,
            REPORT.c.period,
            REPORT.c.tool_code,
            REPORT.c.file_name,
            REPORT.c.sha256,
            REPORT.c.generated_at,
        )
        .order_by(REPORT.c.id.desc())
        .limit(limit)
    ).all()
    return [dict(r._mapping) for r in rows]


def documented_views(conn: Connection) -> list[tuple[str, list[str]]]:
    """The auditors' views (docs/schema.md) with their columns, for the SQL console's side list."""
    inspector = inspect(conn)
    names = sorted(n for n in inspector.get_view_names() if n.startswith("v_"))
    return [(name, [c["name"] for c in inspector.get_columns(name)]) for name in names]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
