"""The programme checks: one function per rule, each data in, findings out (Beancount's plugin shape).

Every check is an SQL aggregate over the period (or over the small event table), so `ledger check all` stays a few
index scans at a million drawdowns; only the ids of the drawdowns involved are fetched, capped at ID_CAP per
finding with the full count in the message. Booking already refuses most of these cases; the checks are the
safety net for imports, overrides, configuration changed after booking, and events added later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from ledger.config import Config
from ledger.db.models import Drawdown, DrawdownEvent, Enterprise, EnterpriseStatus
from ledger.domain.dates import add_months
from ledger.domain.eligibility import Eligibility
from ledger.domain.money import fen_to_yuan, ppm_to_rate, rate_to_ppm, yuan_to_fen
from ledger.rules.share import ShareResult, compute_share, display_percent, period
from ledger.tools import Tool

ID_CAP = 50
BORROWER_CAP = 10  # inclusive-limit findings name at most this many borrowers, then one summary line
RULES = (
    "share",
    "quota",
    "balance_cap",
    "term",
    "rollovers",
    "rate_table",
    "lend_rate_cap",
    "override",
    "status_expired",
    "inclusive_limit",
    "reclassified",
)
RULE_NAMES: dict[str, str] = {
    "share": "重点领域占比",
    "quota": "年度额度",
    "balance_cap": "余额上限",
    "term": "期限",
    "rollovers": "展期次数",
    "rate_table": "央行利率",
    "lend_rate_cap": "贷款利率上限",
    "override": "例外登记",
    "status_expired": "资质过期",
    "inclusive_limit": "普惠单户限额",
    "reclassified": "重点领域重新认定",
}
SEVERITY_NAMES = {"error": "错误", "warning": "提示"}

_D = Drawdown.__table__  # type: ignore[attr-defined]
_E = DrawdownEvent.__table__  # type: ignore[attr-defined]
_N = Enterprise.__table__  # type: ignore[attr-defined]
_S = EnterpriseStatus.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Finding:
    rule: str  # one of RULES
    severity: str  # 'error' | 'warning'
    message: str  # Chinese; names the figure and the limit
    figure: str
    limit: str
    drawdown_ids: tuple[int, ...]  # at most ID_CAP; `count` says how many there are
    count: int = 0
    tool_code: str = ""

    @property
    def rule_name(self) -> str:
        return RULE_NAMES.get(self.rule, self.rule)

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "rule_name": self.rule_name,
            "severity": self.severity,
            "message": self.message,
            "figure": self.figure,
            "limit": self.limit,
            "tool": self.tool_code,
            "count": self.count,
            "drawdown_ids": list(self.drawdown_ids),
        }


@dataclass(frozen=True)
class DayScreen:
    """One (tool, drawn_on) group of the screening pass; reversed drawdowns included (a superset)."""

    longest_maturity: date
    rate_differs: int
    overrides: int
    top_lend_rate_ppm: int


@dataclass
class CheckContext:
    """What every check reads: the configuration, the period, the share (computed once) and the screening pass."""

    config: Config
    year: int
    start: date
    end: date
    share: ShareResult
    _screen: dict[tuple[str, date], DayScreen] | None = field(default=None, repr=False)

    def screen(self, conn: Connection) -> dict[tuple[str, date], DayScreen]:
        """One grouped pass over the period's rows, shared by the term, rate, cap and override checks: they run
        their precise queries (reversals excluded, ids fetched) only for the tools the screen flags, so a clean
        year costs one scan instead of one per rule and tool."""
        if self._screen is None:
            differs = case(
                (and_(_D.c.table_rate_ppm.is_not(None), _D.c.cb_rate_ppm != _D.c.table_rate_ppm), 1), else_=0
            )
            overridden = case((_D.c.override_reason != "", 1), else_=0)
            query = (
                select(
                    _D.c.tool_code,
                    _D.c.drawn_on,
                    func.max(_D.c.maturity_on),
                    func.sum(differs),
                    func.sum(overridden),
                    func.max(func.coalesce(_D.c.lend_rate_ppm, 0)),
                )
                .where(_D.c.drawn_on >= self.start, _D.c.drawn_on <= self.end)
                .group_by(_D.c.drawn_on, _D.c.tool_code)
            )
            self._screen = {
                (str(code), _as_date(day)): DayScreen(
                    _as_date(longest), int(rates), int(overrides), int(lend)
                )
                for code, day, longest, rates, overrides, lend in conn.execute(query)
            }
        return self._screen

    def flagged_tools(self, conn: Connection, test: Callable[[DayScreen], bool]) -> set[str]:
        return {code for (code, _), day in self.screen(conn).items() if test(day)}

    def top_lend_rate_ppm(self, conn: Connection, tool_code: str) -> int:
        return max(
            (d.top_lend_rate_ppm for (code, _), d in self.screen(conn).items() if code == tool_code),
            default=0,
        )


Check = Callable[[Connection, CheckContext], list[Finding]]


def _yuan(fen: int) -> str:
    return f"{fen_to_yuan(fen):,.2f}元"


def _live(as_of: date | None = None) -> Any:
    """Not reversed (as of `as_of`, the period's end, when given: a reversal counts from its effective date, as in
    balances and the share): a correlated probe of the partial unique index on reversals, used on bounded subsets."""
    conditions = [_E.c.drawdown_id == _D.c.id, _E.c.kind == "reversal"]
    if as_of is not None:
        conditions.append(_E.c.event_on <= as_of)
    return ~select(_E.c.id).where(*conditions).correlate(_D).exists()


def _in_period(ctx: CheckContext) -> list[Any]:
    return [_D.c.drawn_on >= ctx.start, _D.c.drawn_on <= ctx.end]


def _count_and_ids(
    conn: Connection, conditions: Iterable[Any], *, join_enterprise: bool = False
) -> tuple[int, tuple[int, ...]]:
    where = and_(*conditions)
    source = _D.join(_N, _N.c.id == _D.c.enterprise_id) if join_enterprise else _D
    count = int(conn.execute(select(func.count()).select_from(source).where(where)).scalar_one())
    if count == 0:
        return 0, ()
    ids = conn.execute(
        select(_D.c.id).select_from(source).where(where).order_by(_D.c.drawn_on, _D.c.id).limit(ID_CAP)
    )
    return count, tuple(int(r[0]) for r in ids)


def _ids_note(count: int) -> str:
    return f"(共{count}笔,列出前{ID_CAP}笔)" if count > ID_CAP else f"(共{count}笔)"


# -- the rules ----------------------------------------------------------------------------------------------------
def check_share(conn: Connection, ctx: CheckContext) -> list[Finding]:
    share = ctx.share
    if share.passed:
        return []
    limit = f"≥{display_percent(share.threshold)}"
    return [
        Finding(
            "share",
            "error",
            f"{ctx.year}年截至{ctx.end}重点领域占比{display_percent(share.share)}(重点领域{_yuan(share.key_area_fen)}"
            f"/全部{_yuan(share.total_fen)}),低于门槛{limit};{share.headroom_text()}",
            display_percent(share.share),
            limit,
            (),
            share.drawdowns,
        )
    ]


def check_quota(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """Drawn in the year (reversals excluded) against each tool's configured annual quota."""
    drawn = {row.key: row.total_fen for row in ctx.share.by_tool}
    findings = []
    for tool in ctx.config.catalogue:
        if tool.annual_quota_yuan is None:
            continue
        quota = yuan_to_fen(tool.annual_quota_yuan)
        used = drawn.get(tool.code, 0)
        if used <= quota:
            continue
        count, ids = _over_quota_drawdowns(conn, ctx, tool.code, quota)
        findings.append(
            Finding(
                "quota",
                "error",
                f"{tool.name}{ctx.year}年已发放{_yuan(used)},超过年度额度{_yuan(quota)}(超出{_yuan(used - quota)});"
                f"越过额度当日及之后的发放{_ids_note(count)}",
                _yuan(used),
                _yuan(quota),
                ids,
                count,
                tool.code,
            )
        )
    return findings


def _over_quota_drawdowns(
    conn: Connection, ctx: CheckContext, tool_code: str, quota: int
) -> tuple[int, tuple[int, ...]]:
    """The drawdowns from the day the running total crossed the quota on (≤ 366 day rows read)."""
    conditions = [*_in_period(ctx), _D.c.tool_code == tool_code, _live(ctx.end)]
    running = 0
    crossed: date | None = None
    days = (
        select(_D.c.drawn_on, func.sum(_D.c.amount_fen))
        .where(*conditions)
        .group_by(_D.c.drawn_on)
        .order_by(_D.c.drawn_on)
    )
    for day, fen in conn.execute(days):
        running += int(fen)
        if running > quota:
            crossed = day if isinstance(day, date) else date.fromisoformat(str(day))
            break
    if crossed is None:
        return 0, ()
    return _count_and_ids(conn, [*conditions, _D.c.drawn_on >= crossed])


def outstanding_by_tool(
    conn: Connection, as_of: date, tool_codes: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """{tool: (drawdowns, fen)} outstanding on as_of: drawn, not matured (after rollovers), not reversed, less
    repayments. Events are aggregated once per drawdown, so this is one pass over the tools' drawdowns."""
    codes = sorted(set(tool_codes))
    if not codes:
        return {}
    ev = (
        select(
            _E.c.drawdown_id,
            func.max(case((_E.c.kind == "reversal", 1), else_=0)).label("reversed"),
            func.sum(
                case((and_(_E.c.kind == "repayment", _E.c.event_on <= as_of), _E.c.amount_fen), else_=0)
            ).label("repaid"),
            func.max(
                case((and_(_E.c.kind == "rollover", _E.c.event_on <= as_of), _E.c.new_maturity_on))
            ).label("rolled_to"),
        )
        .group_by(_E.c.drawdown_id)
        .subquery()
    )
    repaid = func.coalesce(ev.c.repaid, 0)
    query = (
        select(_D.c.tool_code, func.count(), func.sum(_D.c.amount_fen - repaid))
        .select_from(_D.outerjoin(ev, ev.c.drawdown_id == _D.c.id))
        .where(
            _D.c.tool_code.in_(codes),
            _D.c.drawn_on <= as_of,
            func.coalesce(ev.c.rolled_to, _D.c.maturity_on) > as_of,
            func.coalesce(ev.c.reversed, 0) == 0,
            _D.c.amount_fen > repaid,
        )
        .group_by(_D.c.tool_code)
    )
    return {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in conn.execute(query)}


def check_balance_cap(conn: Connection, ctx: CheckContext) -> list[Finding]:
    capped = {t.code: t for t in ctx.config.catalogue if t.balance_cap_yuan is not None}
    findings = []
    for code, (n, fen) in outstanding_by_tool(conn, ctx.end, capped).items():
        tool = capped[code]
        assert tool.balance_cap_yuan is not None
        cap = yuan_to_fen(tool.balance_cap_yuan)
        if fen > cap:
            findings.append(
                Finding(
                    "balance_cap",
                    "error",
                    f"{tool.name}截至{ctx.end}余额{_yuan(fen)}({n}笔),超过余额上限{_yuan(cap)}(超出{_yuan(fen - cap)})",
                    _yuan(fen),
                    _yuan(cap),
                    (),
                    n,
                    code,
                )
            )
    return findings


def check_term(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """Booked maturities beyond the tool's term. The screen's longest maturity per (tool, day) finds the days to
    look at, so the date arithmetic (month ends) stays in Python and no dialect date function is used."""
    bad_days: dict[str, list[Any]] = {}
    for (code, day), screened in sorted(ctx.screen(conn).items()):
        tool = ctx.config.catalogue.find(code)
        if tool is None or tool.max_term_months is None:
            continue
        limit = add_months(day, tool.max_term_months)
        if screened.longest_maturity > limit:
            bad_days.setdefault(code, []).append(and_(_D.c.drawn_on == day, _D.c.maturity_on > limit))
    findings = []
    for code, bad in bad_days.items():
        tool = ctx.config.catalogue.get(code)
        total, ids = 0, list[int]()
        for start in range(0, len(bad), 100):
            n, some = _count_and_ids(
                conn, [_D.c.tool_code == code, or_(*bad[start : start + 100]), _live(ctx.end)]
            )
            total += n
            ids.extend(some[: ID_CAP - len(ids)])
        if total:
            findings.append(
                Finding(
                    "term",
                    "error",
                    f"{tool.name}有{total}笔到期日超过{tool.max_term_months}个月期限{_ids_note(total)}",
                    f"{total}笔",
                    f"≤{tool.max_term_months}个月",
                    tuple(ids),
                    total,
                    code,
                )
            )
    return findings


def check_rollovers(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """Drawdowns rolled over more often than their tool allows (special tools: twice), reported in the year of
    their latest rollover. Reads only the event table and the drawdowns it names."""
    findings = []
    by_limit: dict[int, list[Tool]] = {}
    for tool in ctx.config.catalogue:
        by_limit.setdefault(tool.max_rollovers, []).append(tool)
    for allowed, tools in sorted(by_limit.items()):
        names = {t.code: t.name for t in tools}
        query = (
            select(_D.c.id, _D.c.tool_code, func.count())
            .select_from(_E.join(_D, _D.c.id == _E.c.drawdown_id))
            .where(_E.c.kind == "rollover", _E.c.event_on <= ctx.end, _D.c.tool_code.in_(sorted(names)))
            .group_by(_D.c.id, _D.c.tool_code)
            .having(and_(func.count() > allowed, func.max(_E.c.event_on) >= ctx.start))
            .order_by(_D.c.id)
        )
        per_tool: dict[str, list[tuple[int, int]]] = {}
        for drawdown_id, code, n in conn.execute(query):
            per_tool.setdefault(str(code), []).append((int(drawdown_id), int(n)))
        for code, rows in sorted(per_tool.items()):
            most = max(n for _, n in rows)
            findings.append(
                Finding(
                    "rollovers",
                    "error",
                    f"{names[code]}有{len(rows)}笔展期次数超过{allowed}次(最多{most}次){_ids_note(len(rows))}",
                    f"{most}次",
                    f"≤{allowed}次",
                    tuple(i for i, _ in rows[:ID_CAP]),
                    len(rows),
                    code,
                )
            )
    return findings


def _tool_name(ctx: CheckContext, code: str) -> str:
    tool = ctx.config.catalogue.find(code)
    return tool.name if tool else code


def check_rate_table(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """Central-bank rates booked differently from the dated rate table (booking flagged them; a warning here)."""
    differs = [
        *_in_period(ctx),
        _D.c.table_rate_ppm.is_not(None),
        _D.c.cb_rate_ppm != _D.c.table_rate_ppm,
        _live(ctx.end),
    ]
    findings = []
    flagged = ctx.flagged_tools(conn, lambda day: day.rate_differs > 0)
    for code in sorted(flagged):
        count, ids = _count_and_ids(conn, [*differs, _D.c.tool_code == code])
        if not count:
            continue  # only reversed drawdowns differed
        sample = (
            conn.execute(select(_D.c.cb_rate_ppm, _D.c.table_rate_ppm).where(_D.c.id == ids[0])).one()
            if ids
            else (0, 0)
        )
        findings.append(
            Finding(
                "rate_table",
                "warning",
                f"{_tool_name(ctx, code)}有{count}笔央行利率与利率表不符(如第{ids[0] if ids else '-'}笔:"
                f"{ppm_to_rate(sample[0])}%,利率表{ppm_to_rate(sample[1])}%){_ids_note(count)}",
                f"{ppm_to_rate(sample[0])}%",
                f"{ppm_to_rate(sample[1])}%",
                ids,
                count,
                code,
            )
        )
    return findings


def check_lend_rate_cap(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """End-borrower rates above a tool's cap (设备更新改造 ≤ 3.2%): an error unless booked with an override."""
    findings = []
    for tool in ctx.config.catalogue:
        if tool.lend_rate_cap is None:
            continue
        cap = rate_to_ppm(tool.lend_rate_cap)
        if ctx.top_lend_rate_ppm(conn, tool.code) <= cap:
            continue
        above = [*_in_period(ctx), _D.c.tool_code == tool.code, _D.c.lend_rate_ppm > cap, _live(ctx.end)]
        for overridden in (False, True):
            cond = [*above, _D.c.override_reason != "" if overridden else _D.c.override_reason == ""]
            count, ids = _count_and_ids(conn, cond)
            if not count:
                continue
            top = conn.execute(select(func.max(_D.c.lend_rate_ppm)).where(*cond)).scalar_one()
            how = "已依例外原因登记" if overridden else "未说明例外原因"
            findings.append(
                Finding(
                    "lend_rate_cap",
                    "warning" if overridden else "error",
                    f"{tool.name}有{count}笔贷款利率高于上限{tool.lend_rate_cap}%(最高{ppm_to_rate(int(top))}%),{how}"
                    f"{_ids_note(count)}",
                    f"{ppm_to_rate(int(top))}%",
                    f"≤{tool.lend_rate_cap}%",
                    ids,
                    count,
                    tool.code,
                )
            )
    return findings


def check_override(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """Drawdowns booked with an eligibility or rate override, per tool, so a reviewer reads every reason."""
    overridden = [*_in_period(ctx), _D.c.override_reason != "", _live(ctx.end)]
    findings = []
    for code in sorted(ctx.flagged_tools(conn, lambda day: day.overrides > 0)):
        count, ids = _count_and_ids(conn, [*overridden, _D.c.tool_code == code])
        if not count:
            continue
        findings.append(
            Finding(
                "override",
                "warning",
                f"{_tool_name(ctx, code)}有{count}笔依例外原因登记,请复核{_ids_note(count)}",
                f"{count}笔",
                "0笔(无例外)",
                ids,
                count,
                code,
            )
        )
    return findings


def check_status_expired(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """Drawdowns under a status-targeted tool whose borrower's qualifying status had lapsed by drawn_on and who
    qualified by nothing else (no valid status, industry or size the tool admits). Tools sharing a target are
    checked together: one grouped count per target, ids only where something was found."""
    by_rule: dict[Eligibility, list[Tool]] = {}
    for tool in ctx.config.catalogue:
        if tool.eligibility.statuses:
            by_rule.setdefault(tool.eligibility, []).append(tool)
    findings = []
    for rule, tools in by_rule.items():
        statuses = sorted(rule.statuses)
        expired = (
            select(_S.c.id)
            .where(
                _S.c.enterprise_id == _D.c.enterprise_id,
                _S.c.status.in_(statuses),
                _S.c.valid_to < _D.c.drawn_on,
            )
            .correlate(_D)
            .exists()
        )
        valid = (
            select(_S.c.id)
            .where(
                _S.c.enterprise_id == _D.c.enterprise_id,
                _S.c.status.in_(statuses),
                _S.c.valid_from <= _D.c.drawn_on,
                or_(_S.c.valid_to.is_(None), _S.c.valid_to >= _D.c.drawn_on),
            )
            .correlate(_D)
            .exists()
        )
        other_ways = [_N.c.industry_code.startswith(p) for p in rule.industry_prefixes]
        if rule.sizes:
            other_ways.append(_N.c.size.in_(sorted(rule.sizes)))
        # Only borrowers holding a lapsed status at all can be involved: the (small) status table drives.
        lapsed = select(_S.c.enterprise_id).where(_S.c.status.in_(statuses), _S.c.valid_to < ctx.end)
        base = [
            _D.c.enterprise_id.in_(lapsed),
            *_in_period(ctx),
            _D.c.tool_code.in_(sorted(t.code for t in tools)),
            expired,
            ~valid,
            _live(ctx.end),
        ]
        if other_ways:
            base.append(~or_(*other_ways))
        flag = case((_D.c.override_reason != "", 1), else_=0)
        counts = (
            select(_D.c.tool_code, flag, func.count())
            .select_from(_D.join(_N, _N.c.id == _D.c.enterprise_id))
            .where(*base)
            .group_by(_D.c.tool_code, flag)
        )
        for code, overridden, count in sorted(conn.execute(counts).all()):
            tool = ctx.config.catalogue.get(str(code))
            cond = [
                *base,
                _D.c.tool_code == code,
                _D.c.override_reason != "" if overridden else _D.c.override_reason == "",
            ]
            _, ids = _count_and_ids(conn, cond, join_enterprise=True)
            how = "已依例外原因登记" if overridden else "未说明例外原因"
            findings.append(
                Finding(
                    "status_expired",
                    "warning" if overridden else "error",
                    f"{tool.name}有{count}笔发放时借款企业的{rule.description}资质已过期,{how}{_ids_note(int(count))}",
                    f"{count}笔",
                    "发放日资质有效",
                    ids,
                    int(count),
                    tool.code,
                )
            )
    return findings


def check_inclusive_limit(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """普惠小微 tools: one borrower's underlying principal drawn in the year, across all such tools, above the
    configured limit (10 million yuan). One finding per borrower, the largest first, at most BORROWER_CAP
    borrowers and then one line counting the rest."""
    codes = sorted(t.code for t in ctx.config.catalogue if t.inclusive_small_micro)
    if not codes:
        return []
    limit = yuan_to_fen(ctx.config.inclusive_max_yuan)
    cond = [*_in_period(ctx), _D.c.tool_code.in_(codes), _live(ctx.end)]
    total = func.sum(_D.c.principal_fen)
    query = (
        select(_D.c.enterprise_id, total, func.count())
        .where(*cond)
        .group_by(_D.c.enterprise_id)
        .having(total > limit)
        .order_by(total.desc(), _D.c.enterprise_id)
    )
    over = [(int(r[0]), int(r[1]), int(r[2])) for r in conn.execute(query)]
    findings = []
    for enterprise_id, fen, n in over[:BORROWER_CAP]:
        firm = conn.execute(select(_N.c.uscc, _N.c.name).where(_N.c.id == enterprise_id)).one()
        _, ids = _count_and_ids(conn, [*cond, _D.c.enterprise_id == enterprise_id])
        findings.append(
            Finding(
                "inclusive_limit",
                "error",
                f"{firm[1]}({firm[0]}){ctx.year}年普惠小微工具下贷款合计{_yuan(fen)},超过单户{_yuan(limit)}"
                f"(共{n}笔)",
                _yuan(fen),
                f"≤{_yuan(limit)}",
                ids,
                n,
                "",
            )
        )
    if len(over) > BORROWER_CAP:
        findings.append(
            Finding(
                "inclusive_limit",
                "error",
                f"另有{len(over) - BORROWER_CAP}户超过普惠单户限额{_yuan(limit)},未逐户列出",
                f"{len(over)}户",
                f"≤{_yuan(limit)}",
                (),
                len(over) - ID_CAP,
                "",
            )
        )
    return findings


def check_reclassified(conn: Connection, ctx: CheckContext) -> list[Finding]:
    """Drawdowns the rule's measure counts differently as now known than as booked (a 名录 status recorded after
    the drawdown, an industry corrected): the figures as booked stay what was reported; `check share --basis
    known` and the drill-down (`check drilldown --reclassified`) show the difference."""
    changed = ctx.share.reclassified
    if not changed:
        return []
    into = sum(r.amount_fen for r in changed if r.known)
    out = sum(r.amount_fen for r in changed if not r.known)
    return [
        Finding(
            "reclassified",
            "warning",
            f"{len(changed)}笔发放按现知信息与登记时认定不同:现计入{ctx.share.measure_label}{_yuan(into)},"
            f"现不计入{_yuan(out)}(登记时的数字不变;--basis known 按现知计算)",
            f"{len(changed)}笔",
            "登记时认定",
            tuple(r.id for r in changed[:ID_CAP]),
            len(changed),
            "",
        )
    ]


CHECKS: tuple[tuple[str, Check], ...] = (
    ("share", check_share),
    ("quota", check_quota),
    ("balance_cap", check_balance_cap),
    ("term", check_term),
    ("rollovers", check_rollovers),
    ("rate_table", check_rate_table),
    ("lend_rate_cap", check_lend_rate_cap),
    ("override", check_override),
    ("status_expired", check_status_expired),
    ("inclusive_limit", check_inclusive_limit),
    ("reclassified", check_reclassified),
)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def run_checks(
    conn: Connection,
    config: Config,
    year: int,
    as_of: date | None = None,
    *,
    only: Iterable[str] | None = None,
) -> list[Finding]:
    """Every rule over `year` up to `as_of` (default the year's end); errors first, then warnings, in rule order."""
    start, end = period(year, as_of)
    ctx = CheckContext(config, year, start, end, compute_share(conn, config, year, end, by_institution=False))
    wanted = set(only) if only is not None else None
    findings: list[Finding] = []
    for name, check in CHECKS:
        if wanted is None or name in wanted:
            findings.extend(check(conn, ctx))
    order = {name: i for i, name in enumerate(RULES)}
    return sorted(findings, key=lambda f: (f.severity != "error", order.get(f.rule, 99)))


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
