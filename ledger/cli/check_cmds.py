"""`ledger check …`: the key-area share rule and the programme checks, for people and for the month-end batch.

The batch relies on the contract (issue 3): `check share` exits 0 when the period passes and 1 when it fails,
`check all` exits 1 when any finding is an error, and `--json` prints one object on stdout with amounts as yuan
strings (two decimals) and the share as a string (four decimals), never a float.
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any

from ledger.cli.common import CommandFailed, add_json_flag, jsonable, open_ledger
from ledger.domain.dates import check_year, parse_date
from ledger.domain.errors import ValidationError
from ledger.domain.money import fen_to_yuan
from ledger.rules.checks import SEVERITY_NAMES, Finding, has_errors
from ledger.rules.share import ShareResult, ShareRow, display_percent, period, quarter_period

KIND_WORDS = {
    "relending": "relending",
    "rediscount": "rediscount",
    "再贷款": "relending",
    "再贴现": "rediscount",
}


def _date_arg(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _kind_arg(text: str) -> str:
    kind = KIND_WORDS.get(text.strip())
    if kind is None:
        raise argparse.ArgumentTypeError("应为 relending(再贷款) 或 rediscount(再贴现)")
    return kind


def _year_arg(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError("年份应为四位数字,如 2025")
    try:
        return check_year(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _key_area_arg(text: str) -> bool:
    words = {
        "yes": True,
        "key": True,
        "是": True,
        "重点": True,
        "no": False,
        "other": False,
        "否": False,
        "非重点": False,
    }
    if text.strip().lower() not in words:
        raise argparse.ArgumentTypeError("应为 yes(重点领域) 或 no(非重点领域)")
    return words[text.strip().lower()]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds `check share`, `check all` and `check drilldown` to the `ledger` parser."""
    group = sub.add_parser(
        "check", help="规则检查:重点领域占比及各项检查 (the share rule and the programme checks)"
    )
    actions = group.add_subparsers(dest="sub", metavar="CHECK", required=True)

    p = actions.add_parser(
        "share", help="重点领域占比,达标退出码0,未达标1 (key-area share; exit 0 pass, 1 fail)"
    )
    _period_args(p, ranges=True)
    _scope_args(p)
    p.add_argument(
        "--measure",
        default=None,
        help="口径:key_area(默认,98号重点领域)、broad、sci_tech、green、culture、agriculture、private_small、target",
    )
    p.add_argument(
        "--basis",
        choices=("booked", "known"),
        default=None,
        help="booked: 按登记时认定(已报送的数字); known: 按现知信息 (default: known for the year in progress)",
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_share)

    p = actions.add_parser("all", help="全部检查,有错误时退出码1 (every check; exit 1 on any error)")
    _period_args(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_all)

    p = actions.add_parser(
        "drilldown", help="占比背后的逐笔明细及计入原因 (the drawdowns behind a share figure)"
    )
    _period_args(p, ranges=True)
    _scope_args(p)
    p.add_argument(
        "--reclassified",
        action="store_true",
        help="仅列出按现知信息与登记时认定不同的发放及原因 (drawdowns classified differently as now known)",
    )
    p.add_argument("--measure", default=None, help="与 --reclassified 同用的口径 (default: the rule's)")
    p.add_argument("--key-area", type=_key_area_arg, default=None, help="yes: 仅重点领域; no: 仅非重点领域")
    p.add_argument("--month", help="YYYY-MM, 仅该月")
    p.add_argument("--include-reversed", action="store_true", help="同时列出已冲正(不计入)的发放")
    p.add_argument("--limit", type=int, default=500)
    p.add_argument("--offset", type=int, default=0)
    add_json_flag(p)
    p.set_defaults(func=cmd_drilldown)


def _period_args(p: argparse.ArgumentParser, ranges: bool = False) -> None:
    p.add_argument("--year", type=_year_arg, required=not ranges, help="考核年度 (calendar year)")
    p.add_argument("--as-of", type=_date_arg, default=None, help="截止日 (default: the year's last day)")
    if ranges:
        p.add_argument(
            "--from", dest="start", type=_date_arg, default=None, help="起始日 (any period: with --to)"
        )
        p.add_argument("--to", dest="end", type=_date_arg, default=None, help="截止日 (inclusive)")
        p.add_argument("--quarter", default=None, help="季度,如 2023Q1 (a calendar quarter)")


def _period(args: argparse.Namespace) -> tuple[date | None, date | None]:
    """--quarter, or --from/--to; (None, None) for --year/--as-of. Exits 2 naming the clash."""
    start, end = args.start, args.end
    try:
        if args.quarter:
            if start or end or args.as_of:
                raise CommandFailed(
                    "--quarter 不能与 --from/--to/--as-of 同用 (use one way to give the period)", 2
                )
            start, end = quarter_period(args.quarter)
        if (start or end) and args.as_of:
            raise CommandFailed("--as-of 不能与 --from/--to 同用 (use --to)", 2)
        if not (start or end or args.year):
            raise CommandFailed("须指定 --year、--quarter 或 --from/--to (give the period)", 2)
        if start or end:  # (--year/--as-of problems keep their exit 1, as before --from/--to existed)
            period(args.year, args.as_of, start=start, end=end)
    except ValidationError as exc:  # a period that cannot be: a usage error, not a failing share (exit 1)
        raise CommandFailed(f"用法错误 (usage error): {exc}", 2) from None
    return start, end


def _scope_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", type=_kind_arg, default=None, help="relending(再贷款) | rediscount(再贴现)")
    p.add_argument("--tool", default=None, help="工具代码或中文名称 (code or Chinese name)")
    p.add_argument("--institution", default=None, help="机构代码 (bank code)")
    p.add_argument("--office", default=None, help="经办的人民银行机构,如 中关村中心支行 (the PBOC office)")


# -- output helpers -----------------------------------------------------------------------------------------------
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(text: str, width: int, right: bool = False) -> str:
    pad = " " * max(0, width - _width(text))
    return pad + text if right else text + pad


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    widths = [max([_width(h), *(_width(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(_cell(h, w, r) for h, w, r in zip(headers, widths, right, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(_cell(c, w, r) for c, w, r in zip(row, widths, right, strict=True)) for row in rows
    )
    return lines


def _yuan(fen: int) -> str:
    return f"{fen_to_yuan(fen):,.2f}"


def _breakdown(title: str, first: str, rows: list[ShareRow], with_key: bool) -> list[str]:
    if not rows:
        return []
    body = [
        [
            f"{r.key} {r.label}" if with_key else r.label,
            _yuan(r.key_area_fen),
            _yuan(r.total_fen),
            display_percent(r.share),
            f"{r.drawdowns:,}",
        ]
        for r in rows
    ]
    return [
        "",
        title,
        *_table(
            [first, "重点领域(元)", "全部发放(元)", "占比", "笔数"], body, [False, True, True, True, True]
        ),
    ]


def share_lines(result: ShareResult) -> list[str]:
    """The readable Chinese report of one share result (also what the TUI's text export may reuse)."""
    verdict = "达标 (pass)" if result.passed else "未达标 (fail)"
    basis = "按现知信息 (as known)" if result.basis == "known" else "按登记时认定 (as booked)"
    lines = [
        f"{'重点领域' if result.measure == 'key_area' else result.measure_label}占比"
        f"({result.period_start or date(result.year, 1, 1)} 至 {result.as_of})"
        f"  范围:{result.scope_label}  口径:{result.measure_label} ({result.measure})  {basis}",
    ]
    if result.empty:
        lines += [
            "  本期尚无发放 (nothing drawn):占比无从计算,按达标处理",
            f"  门槛          ≥{display_percent(result.threshold)}",
            f"  结论          {verdict}",
        ]
        return lines
    reversed_note = (
        f";已剔除冲正 {result.reversed_drawdowns:,} 笔 {_yuan(result.reversed_fen)} 元"
        if result.reversed_drawdowns
        else ""
    )
    lines += [
        f"  重点领域金额  {_yuan(result.key_area_fen)} 元",
        f"  全部发放金额  {_yuan(result.total_fen)} 元({result.drawdowns:,} 笔{reversed_note})",
        f"  占比          {display_percent(result.share)}    门槛 ≥{display_percent(result.threshold)}",
        f"  结论          {verdict}",
        f"  余量          {result.headroom_text()}",
    ]
    if result.reclassified:
        into = sum(r.amount_fen for r in result.reclassified if r.known)
        out = sum(r.amount_fen for r in result.reclassified if not r.known)
        applied = "已按现知计入上列数字" if result.basis == "known" else "上列数字仍按登记时认定"
        lines.append(
            f"  重新认定      {len(result.reclassified):,} 笔:现计入 {_yuan(into)} 元,现不计入 {_yuan(out)} 元"
            f"({applied};明细见 check drilldown --reclassified)"
        )
    lines += _breakdown("按工具 (by tool)", "工具", result.by_tool, True)
    lines += _breakdown("按月份 (by month)", "月份", result.by_month, False)
    lines += _breakdown("按机构 (by bank)", "机构", result.by_institution, True)
    return lines


def finding_lines(findings: list[Finding], year: int, as_of: date) -> list[str]:
    errors = sum(f.severity == "error" for f in findings)
    lines = [f"{year}年规则检查(截至{as_of}):{errors} 项错误,{len(findings) - errors} 项提示"]
    if not findings:
        lines.append("  全部检查通过 (every check passed)")
    for f in findings:
        lines.append(f"  [{SEVERITY_NAMES.get(f.severity, f.severity)}] {f.rule_name}({f.rule}):{f.message}")
        lines.append(f"      数值 {f.figure}    限额 {f.limit}")
        if f.drawdown_ids:
            shown = ", ".join(str(i) for i in f.drawdown_ids[:20])
            more = f" …(共{f.count}笔)" if f.count > min(20, len(f.drawdown_ids)) else ""
            lines.append(f"      涉及发放 {shown}{more}")
    return lines


def _print_json(data: Any) -> None:
    print(json.dumps(jsonable(data), ensure_ascii=False, indent=2))


# -- commands -----------------------------------------------------------------------------------------------------
def cmd_share(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        start, end = _period(args)
        result = ledger.share(
            args.year,
            args.as_of,
            kind=args.kind,
            tool=args.tool,
            institution=args.institution,
            start=start,
            end=end,
            office=args.office,
            measure=args.measure,
            basis=args.basis,
        )
    finally:
        ledger.dispose()
    if args.json:
        _print_json(result.as_json())
    else:
        print("\n".join(share_lines(result)))
    return 0 if result.passed else 1


def cmd_all(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        findings = ledger.checks(args.year, args.as_of)
    finally:
        ledger.dispose()
    as_of = args.as_of or date(args.year, 12, 31)
    failed = has_errors(findings)
    if args.json:
        _print_json(
            {
                "year": args.year,
                "as_of": as_of.isoformat(),
                "status": "fail" if failed else "pass",
                "errors": sum(f.severity == "error" for f in findings),
                "warnings": sum(f.severity == "warning" for f in findings),
                "findings": [f.as_json() for f in findings],
            }
        )
    else:
        print("\n".join(finding_lines(findings, args.year, as_of)))
    return 1 if failed else 0


def cmd_drilldown(args: argparse.Namespace) -> int:
    if args.reclassified:
        return _reclassified(args)
    ledger = open_ledger(args)
    try:
        start, end = _period(args)
        rows = ledger.share_drilldown(
            args.year,
            args.as_of,
            start=start,
            end=end,
            office=args.office,
            key_area=args.key_area,
            tool=args.tool,
            institution=args.institution,
            month=args.month,
            kind=args.kind,
            include_reversed=args.include_reversed,
            limit=args.limit,
            offset=args.offset,
        )
    finally:
        ledger.dispose()
    if args.json:
        _print_json({"rows": rows, "limit": args.limit, "offset": args.offset})
        return 0
    body = [
        [
            str(r["id"]),
            r["drawn_on"].isoformat(),
            r["tool_name"],
            r["institution_code"],
            r["enterprise_name"],
            f"{r['amount']:,.2f}",
            r["explanation"],
        ]
        for r in rows
    ]
    print(
        "\n".join(
            _table(
                ["编号", "发放日", "工具", "机构", "企业", "金额(元)", "计入情况"],
                body,
                [True, False, False, False, False, True, False],
            )
        )
    )
    more = " (可能还有更多,用 --offset 翻页)" if len(rows) == args.limit else ""
    print(f"共列出 {len(rows)} 笔{more}")
    return 0


def _reclassified(args: argparse.Namespace) -> int:
    """`check drilldown --reclassified`: the drawdowns a measure counts differently as now known, and why."""
    ledger = open_ledger(args)
    try:
        start, end = _period(args)
        result = ledger.share(
            args.year,
            args.as_of,
            kind=args.kind,
            tool=args.tool,
            institution=args.institution,
            start=start,
            end=end,
            office=args.office,
            measure=args.measure,
            basis="booked",
            by_institution=False,
        )
    finally:
        ledger.dispose()
    rows = result.reclassified
    if args.json:
        _print_json({"measure": result.measure, "rows": [r.as_json() for r in rows]})
        return 0
    body = [
        [
            str(r.id),
            r.drawn_on.isoformat(),
            r.tool_code,
            r.office,
            _yuan(r.amount_fen),
            ("计入" if r.booked else "不计入") + ":" + r.booked_reason,
            ("计入" if r.known else "不计入") + ":" + r.known_reason,
        ]
        for r in rows
    ]
    print(
        "\n".join(
            _table(
                ["编号", "发放日", "工具", "经办行", "金额(元)", "登记时", "现知"],
                body,
                [True, False, False, False, True, False, False],
            )
        )
    )
    print(f"共 {len(rows)} 笔按现知信息与登记时认定不同 ({result.measure_label})")
    return 0
