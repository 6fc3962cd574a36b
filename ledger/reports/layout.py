"""The stories (flowable lists) of the tool report and the summary, filled from figures and the template.

Why separate from render: this module decides *what* a page says, in the template's words and order; render
decides how pages are made. Every number is formatted here from integer fen or Decimal (万元 and 元 with thousands
separators, 亿元 in the headline, rates and shares to 2 decimals, rounded half-up), never through a float.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ledger.domain.money import fen_to_yuan, format_wan, format_yi, ppm_to_rate, round_half_up
from ledger.reports.figures import (
    AppendixRow,
    BreakdownRow,
    Exceptions,
    Maturing,
    Movements,
    Period,
    ToolFigures,
    ToolLine,
    Totals,
    WeightedRate,
)
from ledger.reports.grid import Grid
from ledger.reports.registry import Stamp
from ledger.reports.render import Styles, bar_chart, escape, nice_steps, paragraph, tables
from ledger.reports.template import Template
from ledger.rules.share import ShareResult, display_percent, exact_ratio
from ledger.tools import Tool


# -- number formats --------------------------------------------------------------------------------------------------
def wan(fen: int) -> str:
    return format_wan(fen_to_yuan(fen))


def yi(fen: int) -> str:
    return format_yi(fen_to_yuan(fen))


def yuan(fen: int) -> str:
    """元 with separators, exact: integer arithmetic (the appendix formats 20,000 of these per report)."""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


@lru_cache(maxsize=1024)
def rate_text(ppm: int) -> str:
    """A rate in percent from ppm (a tool has a handful of distinct rates, hence the cache)."""
    return str(ppm_to_rate(ppm))


def count(n: int) -> str:
    return f"{n:,}"


def rate(value: WeightedRate, tpl: Template) -> str:
    avg = value.average
    return str(tpl.meta["not_applicable"]) if avg is None else f"{avg:.2f}"


def percent(part: int, whole: int, tpl: Template) -> str:
    if not whole:
        return str(tpl.meta["not_applicable"])
    return f"{round_half_up(Decimal(part) * 100 / Decimal(whole), 2):.2f}%"


def leverage(totals: Totals, tpl: Template) -> str:
    value = totals.leverage
    return str(tpl.meta["not_applicable"]) if value is None else f"{value:.2f}{tpl.label('times_suffix')}"


def period_label(tpl: Template, period: Period) -> str:
    return tpl.label("period_label", year=period.year, month=period.month)


def chinese_time(tpl: Template, iso: str) -> str:
    """An ISO time as the template prints it (2025年7月1日 09:00); the offset is kept, as written, when not +08:00."""
    moment = datetime.fromisoformat(iso)
    offset = moment.strftime("%z")
    zone = "" if offset in ("+0800", "") else f" (UTC{offset[:3]}:{offset[3:]})"
    return tpl.label(
        "datetime",
        year=moment.year,
        month=moment.month,
        month_name=MONTH_NAMES[moment.month - 1],
        day=moment.day,
        time=moment.strftime("%H:%M"),
        zone=zone,
    )


def chinese_date(tpl: Template, day: date) -> str:
    return tpl.label(
        "date", year=day.year, month=day.month, month_name=MONTH_NAMES[day.month - 1], day=day.day
    )


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)  # for an edition that writes dates in words ({month_name})


def month_axis_label(tpl: Template, key: str, first: bool) -> str:
    """A chart's month label: the year is shown on the first bar and on every January."""
    year, month = int(key[:4]), int(key[5:])
    return tpl.label("axis_month_first" if first or month == 1 else "axis_month", year=year, month=month)


# -- shared blocks -------------------------------------------------------------------------------------------------
def title_block(tpl: Template, styles: Styles, title: str, subtitle: str, stamp: Stamp) -> list[Flowable]:
    status = tpl.label(f"status_note_{stamp.status}")
    return [
        paragraph(
            styles, "note", tpl.label("classification_line", classification=tpl.meta["classification"])
        ),
        paragraph(styles, "title", title),
        paragraph(styles, "subtitle", subtitle),
        paragraph(
            styles,
            "note",
            tpl.label(
                "issued_by",
                issuer=tpl.meta["issuer"],
                generated_at=chinese_time(tpl, stamp.generated_at),
                number=stamp.number,
            ),
        ),
        paragraph(styles, "note", status),
        Spacer(1, 3 * mm),
    ]


def signoff_block(tpl: Template, styles: Styles, stamp: Stamp) -> list[Flowable]:
    """编制 / 复核 / 负责人 / 报出日期, names from the template's [signoff] (blank: a line to sign on), and the
    issuing unit."""
    sign = tpl.section("signoff")
    blank = str(sign.get("blank", "________"))

    def who(key: str) -> str:
        return str(sign.get(key, "")) or blank

    issued = chinese_date(tpl, datetime.fromisoformat(stamp.generated_at).date())
    row = [
        tpl.text("signoff", "prepared", name=who("prepared_by")),
        tpl.text("signoff", "reviewed", name=who("reviewed_by")),
        tpl.text("signoff", "approved", name=who("approved_by")),
        tpl.text("signoff", "issued_on", date=issued),
    ]
    table = Table(
        [[Paragraph(escape(c), styles["body"]) for c in row]], colWidths=[44 * mm] * 4, hAlign="LEFT"
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), styles.font, tpl.number("font", "body")),  # never Helvetica
                ("TOPPADDING", (0, 0), (-1, -1), 8),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    unit = paragraph(styles, "body", tpl.text("signoff", "unit", issuer=tpl.meta["issuer"]))
    return [CondPageBreak(30 * mm), Spacer(1, 6 * mm), KeepTogether([table, Spacer(1, 3 * mm), unit])]


def heading(tpl: Template, styles: Styles, key: str) -> list[Flowable]:
    # Keep a heading with at least a few lines of what follows it.
    return [CondPageBreak(40 * mm), paragraph(styles, "heading", tpl.heading(key))]


def key_value(styles: Styles, label: str, value: str, numeric: bool = True) -> list[Any]:
    """A label and its value; a number is right-aligned and never wrapped, Chinese text wraps CJK-style."""
    if numeric:
        return [label, Paragraph(escape(value), styles.cell("right", cjk=False))]
    return [label, Paragraph(escape(value), styles.cell("left"))]


def headroom_text(tpl: Template, share: ShareResult) -> str:
    """The headroom sentence, in the template's words (ledger.rules.share decides the kind and the amount)."""
    if share.headroom_kind == "more_non_key_allowed":
        return (
            tpl.label("headroom_empty")
            if share.empty
            else tpl.label("headroom_more", amount=yuan(share.headroom_fen))
        )
    if share.headroom_kind == "key_area_needed":
        return tpl.label("headroom_needed", amount=yuan(share.headroom_fen))
    return tpl.label("headroom_none")


def share_status(tpl: Template, share: ShareResult) -> str:
    if share.empty:
        return tpl.label("share_empty")
    return tpl.label("share_pass") if share.passed else tpl.label("share_fail")


def threshold_text(tpl: Template, share: ShareResult) -> str:
    return tpl.label("threshold", percent=f"{round_half_up(share.threshold * 100, 2):.2f}")


def share_block(tpl: Template, styles: Styles, share: ShareResult) -> list[Flowable]:
    """The branch-wide rule: status, numbers and headroom (from ledger.rules.share), led by one sentence."""
    lead = tpl.label(
        "share_lead",
        share=display_percent(share.share),
        threshold=threshold_text(tpl, share),
        status=share_status(tpl, share),
        headroom=headroom_text(tpl, share),
    )
    rows = [
        key_value(styles, tpl.text("share_table", "key_area"), yuan(share.key_area_fen)),
        key_value(styles, tpl.text("share_table", "total"), yuan(share.total_fen)),
        key_value(styles, tpl.text("share_table", "share"), display_percent(share.share)),
        key_value(styles, tpl.text("share_table", "threshold"), threshold_text(tpl, share)),
        key_value(styles, tpl.text("share_table", "status"), share_status(tpl, share), numeric=False),
        key_value(styles, tpl.text("share_table", "headroom"), headroom_text(tpl, share), numeric=False),
    ]
    return [
        paragraph(styles, "headline", lead),
        *tables(styles, tpl.columns("share_table"), tpl.widths("share_table"), rows),
    ]


def reasons_block(tpl: Template, styles: Styles, reasons: Sequence[tuple[str, int, int]]) -> list[Flowable]:
    """Key-area drawdowns by why they counted, with 合计."""
    total_n = sum(n for _k, n, _f in reasons)
    total_fen = sum(f for _k, _n, f in reasons)
    rows = [[k, count(n), wan(f), percent(f, total_fen, tpl)] for k, n, f in reasons]
    if not rows:
        rows = [[tpl.label("none_row"), "0", wan(0), str(tpl.meta["not_applicable"])]]
    rows.append([tpl.label("total_row"), count(total_n), wan(total_fen), percent(total_fen, total_fen, tpl)])
    return tables(styles, tpl.columns("reasons"), tpl.widths("reasons"), rows, bold_last=True)


def share_rows(
    tpl: Template, tools: Sequence[Tool], rows: Sequence[Any], label_of: Any = None
) -> list[list[str]]:
    """ShareRows (tools in catalogue order, or banks as given) with a 合计 row."""
    out = []
    for r in rows:
        out.append(
            [
                label_of(r) if label_of else r.label,
                wan(r.key_area_fen),
                wan(r.total_fen),
                count(r.drawdowns),
                display_percent(r.share),
            ]
        )
    key = sum(r.key_area_fen for r in rows)
    total = sum(r.total_fen for r in rows)
    out.append(
        [
            tpl.label("total_row"),
            wan(key),
            wan(total),
            count(sum(r.drawdowns for r in rows)),
            display_percent(exact_ratio(key, total)),
        ]
    )
    return out


def trend_chart(tpl: Template, styles: Styles, trend: Sequence[tuple[str, int, int]]) -> Flowable:
    steps = nice_steps(max((fen for _k, fen, _n in trend), default=0))
    return bar_chart(
        styles,
        labels=[month_axis_label(tpl, k, i == 0) for i, (k, _f, _n) in enumerate(trend)],
        values=[fen for _k, fen, _n in trend],
        value_labels=[wan(fen) if fen else "" for _k, fen, _n in trend],
        axis_labels=(steps, [format_wan(fen_to_yuan(s), 0) for s in steps]),
        title=tpl.text("trend_chart", "title"),
        x_label=tpl.text("trend_chart", "x_label"),
        unit=tpl.label("chart_unit"),
    )


def breakdown(
    tpl: Template,
    styles: Styles,
    rows: Sequence[BreakdownRow],
    month: Totals,
    ytd: Totals,
    total_label: str = "",
) -> list[Flowable]:
    """A breakdown with its 合计 (the tool's totals, so a drawdown counted under two statuses is counted once)."""
    none = tpl.label("none_row")
    body = [
        [
            r.label or none,
            count(r.month_drawdowns),
            wan(r.month_fen),
            count(r.ytd_drawdowns),
            wan(r.ytd_fen),
            percent(r.ytd_fen, ytd.amount_fen, tpl),
        ]
        for r in rows
    ]
    body.append(
        [
            total_label or tpl.label("total_row"),
            count(month.drawdowns),
            wan(month.amount_fen),
            count(ytd.drawdowns),
            wan(ytd.amount_fen),
            percent(ytd.amount_fen, ytd.amount_fen, tpl),
        ]
    )
    return tables(styles, tpl.columns("breakdown"), tpl.widths("breakdown"), body, bold_last=True)


def movements_block(tpl: Template, styles: Styles, moves: Movements) -> list[Flowable]:
    """The balance's movements in the month, count and amount, and the check line against the ledger's balance."""
    k = "movements"
    lines = [
        ("opening", moves.opening),
        ("drawn", moves.drawn),
        ("matured", moves.matured),
        ("repaid", moves.repaid),
        ("reversed", moves.reversed),
        ("rolled_out", moves.rolled),
        ("rolled_in", moves.rolled),
        ("closing", moves.closing),
    ]
    rows = [[tpl.text(k, key), count(m.drawdowns), yuan(m.amount_fen), wan(m.amount_fen)] for key, m in lines]
    out = tables(styles, tpl.columns(k), tpl.widths(k), rows, bold_last=True)
    if moves.holds:
        check = tpl.text(k, "check_ok", closing=yuan(moves.ledger_closing.amount_fen))
    else:
        diff = moves.closing - moves.ledger_closing
        check = tpl.text(
            k,
            "check_fail",
            diff=yuan(diff.amount_fen),
            diff_n=count(diff.drawdowns),
            ledger_opening=yuan(moves.ledger_opening.amount_fen),
            ledger_closing=yuan(moves.ledger_closing.amount_fen),
        )
    out.append(paragraph(styles, "body", check))
    out.append(paragraph(styles, "note", tpl.text(k, "note", partly=count(moves.repaid_partly))))
    return out


def ladder_block(tpl: Template, styles: Styles, period: Period, ladder: Sequence[Maturing]) -> list[Flowable]:
    """The month-end balance by maturity month (12 calendar months, then beyond), with its 合计."""
    k = "ladder"
    total = sum(ladder, Maturing())
    rows = []
    for i, bucket in enumerate(ladder):
        if i < len(ladder) - 1:
            p = period.shifted(i + 1)
            label = tpl.text(k, "month", year=p.year, month=p.month)
        else:
            label = tpl.text(k, "beyond", months=len(ladder) - 1)
        rows.append(
            [
                label,
                count(bucket.drawdowns),
                wan(bucket.amount_fen),
                yuan(bucket.amount_fen),
                percent(bucket.amount_fen, total.amount_fen, tpl),
            ]
        )
    rows.append(
        [
            tpl.label("total_row"),
            count(total.drawdowns),
            wan(total.amount_fen),
            yuan(total.amount_fen),
            percent(total.amount_fen, total.amount_fen, tpl),
        ]
    )
    return tables(styles, tpl.columns(k), tpl.widths(k), rows, bold_last=True)


def tool_share_block(tpl: Template, styles: Styles, tool: Tool, figs: ToolFigures) -> list[Flowable]:
    """The rule is the branch's: its figure and status lead; this tool's share, reasons and target group follow as
    information."""
    share: ShareResult = figs.share
    out = [
        paragraph(
            styles,
            "headline",
            tpl.label(
                "share_lead",
                share=display_percent(share.share),
                threshold=threshold_text(tpl, share),
                status=share_status(tpl, share),
                headroom=headroom_text(tpl, share),
            ),
        )
    ]
    mine = next((r for r in share.by_tool if r.key == tool.code), None)
    key_fen, total_fen = (mine.key_area_fen, mine.total_fen) if mine else (0, 0)
    rows = [
        key_value(styles, tpl.text("share_table", "tool_key_area"), yuan(key_fen)),
        key_value(styles, tpl.text("share_table", "tool_total"), yuan(total_fen)),
        key_value(
            styles, tpl.text("share_table", "tool_share"), display_percent(exact_ratio(key_fen, total_fen))
        ),
    ]
    out += tables(styles, tpl.columns("share_table"), tpl.widths("share_table"), rows)
    out.append(paragraph(styles, "note", tpl.label("share_tool_note")))
    out.append(paragraph(styles, "body", tpl.heading("reasons")))
    out += reasons_block(tpl, styles, figs.reasons)
    target = figs.target
    if target is not None:
        out.append(
            paragraph(
                styles,
                "body",
                tpl.label(
                    "target_line",
                    description=target.description,
                    n=count(target.drawdowns),
                    wan=wan(target.amount_fen),
                    share=percent(target.amount_fen, target.total_fen, tpl),
                    others=count(target.total_drawdowns - target.drawdowns),
                ),
            )
        )
    return out


def exceptions_block(
    tpl: Template, styles: Styles, tools: Sequence[Tool], exc: Exceptions, summary: bool
) -> list[Flowable]:
    """Exceptions and controls: `check all`, each kind of exception with its rows (capped, counts complete) and
    合计, rediscount interest, and quota use when the policy sets quotas."""
    names = {t.code: t.name for t in tools}
    k = "exceptions"
    out: list[Flowable] = [paragraph(styles, "body", tpl.text(k, "findings"))]
    if exc.findings:
        rows = [
            [sev_label(tpl, sev), rule, names.get(code, code or "—"), msg]
            for sev, rule, code, msg, _n in exc.findings
        ]
        out += tables(
            styles, tpl.columns("findings"), tpl.widths("findings"), rows, text_columns=(0, 1, 2, 3)
        )
    else:
        out.append(paragraph(styles, "note", tpl.text(k, "no_findings")))
    for kind, lists in exc.kinds():
        n = sum(x.count for x in lists.values())
        fen = sum(x.amount_fen for x in lists.values())
        out.append(paragraph(styles, "body", tpl.text(k, kind, n=count(n), wan=wan(fen))))
        if not n:
            continue
        rows = []
        for code in [t.code for t in tools]:
            if code not in lists:
                continue
            for r in lists[code].rows:
                rows.append(
                    [
                        str(r.id),
                        r.drawn_on,
                        names.get(r.tool_code, r.tool_code) if summary else r.institution,
                        r.enterprise,
                        yuan(r.amount_fen),
                        r.detail,
                    ]
                )
        listed = len(rows)
        rows.append([tpl.label("total_row"), "", "", "", yuan(fen), tpl.text(k, "count", n=count(n))])
        columns = tpl.columns("exception_rows")
        if summary:
            columns = [columns[0], columns[1], tpl.text(k, "tool_column"), *columns[3:]]
        out += tables(
            styles, columns, tpl.widths("exception_rows"), rows, text_columns=(2, 3, 5), bold_last=True
        )
        if listed < n:
            out.append(paragraph(styles, "note", tpl.text(k, "capped", listed=count(listed), n=count(n))))
    rediscount = [t for t in tools if t.kind == "rediscount"]
    if rediscount:
        out.append(paragraph(styles, "body", tpl.text(k, "interest")))
        rows = []
        total = Maturing()
        for t in rediscount:
            got = exc.interest.get(t.code, Maturing())
            if summary and not got.drawdowns:
                continue
            total = total + got
            rows.append([t.name, count(got.drawdowns), yuan(got.amount_fen)])
        rows.append([tpl.label("total_row"), count(total.drawdowns), yuan(total.amount_fen)])
        out += tables(styles, tpl.columns("interest"), tpl.widths("interest"), rows, bold_last=True)
    out.append(paragraph(styles, "body", tpl.text(k, "quota")))
    if exc.quotas or exc.balance_caps:
        rows = []
        for code, quota, used in exc.quotas:
            rows.append(
                [
                    names.get(code, code),
                    tpl.text(k, "annual"),
                    wan(quota),
                    wan(used),
                    percent(used, quota, tpl),
                    wan(quota - used),
                ]
            )
        for code, cap, used in exc.balance_caps:
            rows.append(
                [
                    names.get(code, code),
                    tpl.text(k, "balance"),
                    wan(cap),
                    wan(used),
                    percent(used, cap, tpl),
                    wan(cap - used),
                ]
            )
        out += tables(
            styles, tpl.columns("summary_quota"), tpl.widths("summary_quota"), rows, text_columns=(0, 1)
        )
    else:
        out.append(paragraph(styles, "note", tpl.text(k, "no_quota")))
    return out


def sev_label(tpl: Template, severity: str) -> str:
    return tpl.text("exceptions", f"severity_{severity}") if severity in ("error", "warning") else severity


# -- the tool report -----------------------------------------------------------------------------------------------
def tool_story(
    tpl: Template,
    tool: Tool,
    period: Period,
    figs: ToolFigures,
    stamp: Stamp,
    appendix: Iterable[AppendixRow],
    font: str,
    exc: Exceptions | None = None,
) -> list[Flowable]:
    styles = Styles(tpl, font)
    label = period_label(tpl, period)
    fields = {
        "tool_name": tool.name,
        "tool_code": tool.code,
        "kind_name": tool.kind_name,
        "period_label": label,
    }
    story = title_block(
        tpl, styles, tpl.label("tool_title", **fields), tpl.label("tool_subtitle", **fields), stamp
    )
    m, y = figs.month, figs.ytd
    story.append(
        paragraph(
            styles,
            "headline",
            tpl.label(
                "headline_tool",
                month_yi=yi(m.amount_fen),
                month_n=count(m.drawdowns),
                month_borrowers=count(m.borrowers),
                ytd_yi=yi(y.amount_fen),
                outstanding_yi=yi(figs.outstanding_fen),
            ),
        )
    )
    if not figs.has_data:
        story.append(paragraph(styles, "body", tpl.label("no_data_tool")))
    story.append(paragraph(styles, "note", tpl.label("unit_note")))

    k = "key_figures"
    story += heading(tpl, styles, "key_figures")
    rows = [
        [tpl.text(k, "amount_wan"), wan(m.amount_fen), wan(y.amount_fen)],
        [tpl.text(k, "amount_yuan"), yuan(m.amount_fen), yuan(y.amount_fen)],
        [tpl.text(k, "drawdowns"), count(m.drawdowns), count(y.drawdowns)],
        [tpl.text(k, "borrowers"), count(m.borrowers), count(y.borrowers)],
        [tpl.text(k, "cb_rate"), rate(figs.cb_rate_month, tpl), rate(figs.cb_rate_ytd, tpl)],
        [tpl.text(k, "lend_rate"), rate(figs.lend_rate_month, tpl), rate(figs.lend_rate_ytd, tpl)],
        [tpl.text(k, "principal_wan"), wan(m.principal_fen), wan(y.principal_fen)],
        [tpl.text(k, "leverage"), leverage(m, tpl), leverage(y, tpl)],
    ]
    story += tables(styles, tpl.columns(k), tpl.widths(k), rows)
    mat = figs.maturing_next
    month_end = [
        key_value(styles, tpl.text(k, "outstanding_wan"), wan(figs.outstanding_fen)),
        key_value(styles, tpl.text(k, "outstanding_yuan"), yuan(figs.outstanding_fen)),
        key_value(styles, tpl.text(k, "outstanding_n"), count(figs.outstanding_drawdowns)),
        key_value(styles, tpl.text(k, "maturing_wan"), wan(mat.amount_fen)),
        key_value(styles, tpl.text(k, "maturing_n"), count(mat.drawdowns)),
    ]
    story += tables(styles, tpl.columns("share_table"), tpl.widths("share_table"), month_end)

    story += heading(tpl, styles, "movements")
    story += movements_block(tpl, styles, figs.movements)
    story += heading(tpl, styles, "ladder")
    story += ladder_block(tpl, styles, period, figs.ladder)

    story += heading(tpl, styles, "share")
    story += tool_share_block(tpl, styles, tool, figs)
    story += heading(tpl, styles, "by_institution")
    story += breakdown(tpl, styles, figs.by_institution, m, y)
    story += heading(tpl, styles, "by_industry")
    story += breakdown(tpl, styles, figs.by_industry, m, y)
    story += heading(tpl, styles, "by_size")
    story += breakdown(tpl, styles, figs.by_size, m, y)
    story += heading(tpl, styles, "by_status")
    status_rows = [
        r if r.key else BreakdownRow("", tpl.label("no_status"), *_counts(r)) for r in figs.by_status
    ]
    story += breakdown(tpl, styles, status_rows, m, y, tpl.label("total_distinct"))
    story.append(paragraph(styles, "note", tpl.label("status_note")))
    story.append(CondPageBreak((tpl.number("trend_chart", "height") + 24) * mm))
    story.append(KeepTogether([*heading(tpl, styles, "trend"), trend_chart(tpl, styles, figs.trend)]))
    story += heading(tpl, styles, "top_borrowers")
    top = [
        [str(i), b.name, b.uscc, count(b.drawdowns), wan(b.amount_fen)]
        for i, b in enumerate(figs.top_borrowers, 1)
    ]
    if not top:
        top = [["", tpl.label("none_row"), "", "0", wan(0)]]
    top.append(
        [
            "",
            tpl.label("total_top"),
            "",
            count(sum(b.drawdowns for b in figs.top_borrowers)),
            wan(sum(b.amount_fen for b in figs.top_borrowers)),
        ]
    )
    story += tables(
        styles,
        tpl.columns("top_borrowers"),
        tpl.widths("top_borrowers"),
        top,
        text_columns=(1, 2),
        bold_last=True,
    )

    if exc is not None:
        story += heading(tpl, styles, "exceptions")
        story += exceptions_block(tpl, styles, [tool], exc, summary=False)

    story += signoff_block(tpl, styles, stamp)

    # The appendix starts on a page of its own, unless the month has nothing to list.
    story.append(PageBreak() if figs.month.drawdowns else CondPageBreak(40 * mm))
    story.append(paragraph(styles, "heading", tpl.heading("appendix")))
    story.append(paragraph(styles, "note", tpl.label("appendix_note")))
    story.append(Spacer(1, 2 * mm))
    story += appendix_grids(tpl, appendix, font, bills=tool.kind == "rediscount")
    return story


def _movement_row(tpl: Template, name: str, mv: Movements) -> list[str]:
    check = tpl.text("movements", "holds") if mv.holds else tpl.text("movements", "differs")
    return [
        name,
        wan(mv.opening.amount_fen),
        wan(mv.drawn.amount_fen),
        wan(mv.matured.amount_fen),
        wan(mv.repaid.amount_fen),
        wan(mv.reversed.amount_fen),
        wan(mv.closing.amount_fen),
        check,
    ]


def _counts(r: BreakdownRow) -> tuple[int, int, int, int]:
    return r.month_drawdowns, r.month_fen, r.ytd_drawdowns, r.ytd_fen


def appendix_grids(
    tpl: Template, rows: Iterable[AppendixRow], font: str, bills: bool = False
) -> list[Flowable]:
    """The month's drawdowns as blocks of rows_per_block (each a small grid), the last one ending with 合计; a
    rediscount tool's appendix lists each bill's number and interest (the template's appendix_bills)."""
    name = "appendix_bills" if bills else "appendix"
    section = tpl.section(name)
    block = int(tpl.section("appendix").get("rows_per_block", 60))
    widths = tpl.widths(name)
    header = tpl.columns(name)
    right = [int(i) for i in section.get("right_aligned", [])]
    size, height = tpl.number("font", "appendix"), tpl.number("appendix", "row_height")
    na, yes, no = str(tpl.meta["not_applicable"]), str(tpl.meta["yes"]), str(tpl.meta["no"])
    out: list[Flowable] = []
    pending: list[list[str]] = []
    n = fen = interest = 0
    for row in rows:
        n += 1
        fen += row.amount_fen
        interest += row.interest_fen
        if bills:
            cells = [
                str(row.id),
                row.drawn_on,
                row.maturity_on,
                row.institution,
                row.enterprise,
                row.bill_no,
                yuan(row.amount_fen),
                rate_text(row.cb_rate_ppm),
                yuan(row.interest_fen),
                yes if row.key_area else no,
            ]
        else:
            cells = [
                str(row.id),
                row.drawn_on,
                row.maturity_on,
                row.institution,
                row.enterprise,
                yuan(row.amount_fen),
                rate_text(row.cb_rate_ppm),
                na if row.lend_rate_ppm is None else rate_text(row.lend_rate_ppm),
                yes if row.key_area else no,
            ]
        pending.append(cells)
        if len(pending) >= block:
            out.append(Grid(header, pending, widths, right, font, size, height))
            pending = []
    if n:
        total = [""] * len(header)
        total[0] = tpl.label("total_row")
        total[4] = tpl.label("appendix_count", n=count(n))
        total[6 if bills else 5] = yuan(fen)
        if bills:
            total[8] = yuan(interest)
        pending.append(total)
    if pending:
        out.append(Grid(header, pending, widths, right, font, size, height))
    if not out:
        styles = Styles(tpl, font)
        out.append(paragraph(styles, "body", tpl.label("appendix_empty")))
    return out


# -- the summary ---------------------------------------------------------------------------------------------------
def summary_story(
    tpl: Template,
    tools: Sequence[Tool],
    period: Period,
    lines: Sequence[ToolLine],
    share: ShareResult,
    trend: Sequence[tuple[str, int, int]],
    stamp: Stamp,
    font: str,
    reasons: dict[str, list[tuple[str, int, int]]] | None = None,
    exc: Exceptions | None = None,
) -> list[Flowable]:
    styles = Styles(tpl, font)
    label = period_label(tpl, period)
    story = title_block(
        tpl,
        styles,
        tpl.label("summary_title"),
        tpl.label("summary_subtitle", period_label=label),
        stamp,
    )
    by_code = {line.tool_code: line for line in lines}
    month_fen = sum(line.month.amount_fen for line in lines)
    month_n = sum(line.month.drawdowns for line in lines)
    ytd_fen = sum(line.ytd.amount_fen for line in lines)
    out_fen = sum(line.outstanding_fen for line in lines)
    story.append(
        paragraph(
            styles,
            "headline",
            tpl.label(
                "headline_summary",
                month_yi=yi(month_fen),
                month_n=count(month_n),
                ytd_yi=yi(ytd_fen),
                outstanding_yi=yi(out_fen),
                share=display_percent(share.share),
            ),
        )
    )
    if not month_n and not out_fen:
        story.append(paragraph(styles, "body", tpl.label("no_data_summary")))
    story.append(paragraph(styles, "note", tpl.label("unit_note")))

    story += heading(tpl, styles, "summary_tools")
    rows: list[list[str]] = []
    for tool in tools:
        line = by_code[tool.code]
        rows.append(
            [
                tpl.label("tool_with_code", name=tool.name, code=tool.code),
                tool.kind_name,
                wan(line.month.amount_fen),
                count(line.month.drawdowns),
                wan(line.ytd.amount_fen),
                wan(line.outstanding_fen),
                count(line.ytd.borrowers),
            ]
        )
    rows.append([tpl.label("total_row"), "", wan(month_fen), count(month_n), wan(ytd_fen), wan(out_fen), ""])
    story += tables(
        styles,
        tpl.columns("summary_tools"),
        tpl.widths("summary_tools"),
        rows,
        text_columns=(0, 1),
        bold_last=True,
    )

    story += heading(tpl, styles, "summary_share")
    story += share_block(tpl, styles, share)
    story += heading(tpl, styles, "summary_share_by_tool")
    by_tool = {r.key: r for r in share.by_tool}
    names = {t.code: t.name for t in tools}
    ordered = [by_tool[t.code] for t in tools if t.code in by_tool]
    story += tables(
        styles,
        tpl.columns("summary_share_by_tool"),
        tpl.widths("summary_share_by_tool"),
        share_rows(tpl, tools, ordered, lambda r: names.get(r.key, r.label)),
        bold_last=True,
    )
    story.append(paragraph(styles, "note", tpl.label("share_tool_note")))
    story += heading(tpl, styles, "summary_share_by_bank")
    story += tables(
        styles,
        tpl.columns("summary_share_by_tool"),
        tpl.widths("summary_share_by_tool"),
        share_rows(tpl, tools, share.by_institution),
        bold_last=True,
    )
    story += heading(tpl, styles, "reasons")
    merged: dict[str, list[int]] = {}
    for rows_of_tool in (reasons or {}).values():
        for k, n, f in rows_of_tool:
            acc = merged.setdefault(k, [0, 0])
            acc[0] += n
            acc[1] += f
    story += reasons_block(
        tpl, styles, sorted(((k, v[0], v[1]) for k, v in merged.items()), key=lambda r: (-r[2], r[0]))
    )
    story += heading(tpl, styles, "summary_share_trend")
    cum_key = cum_total = 0
    trend_rows = []
    for r in share.by_month:
        cum_key += r.key_area_fen
        cum_total += r.total_fen
        trend_rows.append(
            [
                r.label,
                wan(r.key_area_fen),
                wan(r.total_fen),
                display_percent(r.share),
                display_percent(exact_ratio(cum_key, cum_total)),
            ]
        )
    trend_rows.append(
        [
            tpl.label("total_row"),
            wan(cum_key),
            wan(cum_total),
            display_percent(exact_ratio(cum_key, cum_total)),
            display_percent(exact_ratio(cum_key, cum_total)),
        ]
    )
    story += tables(
        styles,
        tpl.columns("summary_share_trend"),
        tpl.widths("summary_share_trend"),
        trend_rows,
        bold_last=True,
    )

    story += heading(tpl, styles, "summary_movements")
    move_rows = []
    all_moves = Movements()
    for tool in tools:
        line = by_code[tool.code]
        mv = line.movements
        if mv == Movements():
            continue
        all_moves = all_moves + mv
        move_rows.append(_movement_row(tpl, tool.name, mv))
    move_rows.append(_movement_row(tpl, tpl.label("total_row"), all_moves))
    story += tables(
        styles, tpl.columns("summary_movements"), tpl.widths("summary_movements"), move_rows, bold_last=True
    )
    story += heading(tpl, styles, "summary_movements_all")
    story += movements_block(tpl, styles, all_moves)

    story += heading(tpl, styles, "summary_maturities")
    mat_rows = []
    ladder = [Maturing() for _ in range(len(lines[0].maturing) if lines else 13)]
    groups = ((0, 3), (3, 6), (6, 12), (12, 13))
    for tool in tools:
        line = by_code[tool.code]
        if not line.outstanding_drawdowns:
            continue
        ladder = [a + b for a, b in zip(ladder, line.maturing, strict=True)]
        mat_rows.append(
            [tool.name]
            + [wan(sum(line.maturing[a:b], Maturing()).amount_fen) for a, b in groups]
            + [wan(line.outstanding_fen)]
        )
    mat_rows.append(
        [tpl.label("total_row")]
        + [wan(sum(ladder[a:b], Maturing()).amount_fen) for a, b in groups]
        + [wan(out_fen)]
    )
    story += tables(
        styles, tpl.columns("summary_maturities"), tpl.widths("summary_maturities"), mat_rows, bold_last=True
    )
    story += heading(tpl, styles, "summary_ladder")
    story += ladder_block(tpl, styles, period, ladder)

    story.append(CondPageBreak((tpl.number("trend_chart", "height") + 24) * mm))
    story.append(KeepTogether([*heading(tpl, styles, "summary_trend"), trend_chart(tpl, styles, trend)]))
    if exc is not None:
        story.append(PageBreak())
        story.append(paragraph(styles, "heading", tpl.heading("summary_exceptions")))
        story += exceptions_block(tpl, styles, tools, exc, summary=True)
    story += signoff_block(tpl, styles, stamp)
    return story
