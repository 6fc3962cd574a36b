"""Core commands: init, tools, demo, reference data, book and its events, close, outstanding, audit, sql."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from datetime import date
from typing import Any

from ledger.cli.common import CommandFailed, add_json_flag, jsonable, local_policy, open_ledger
from ledger.domain.dates import parse_date
from ledger.domain.errors import ValidationError
from ledger.domain.money import fen_to_yuan, format_yuan
from ledger.services.approval import Queued
from ledger.services.drawdown_rules import BookingRequest
from ledger.services.sqlconsole import DEFAULT_ROW_CAP, DEFAULT_TIMEOUT_S, MAX_ROW_CAP


def _head_arg(text: str) -> tuple[int, str]:
    from ledger.services.audit_verify import parse_head

    try:
        return parse_head(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _date_arg(text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "init", help="创建或升级数据库并载入工具目录 (create/upgrade the database, load the catalogue)"
    )
    p.add_argument(
        "--training",
        action="store_true",
        help="新建培训台账:可用 --user 指定学员,所有页面标注“培训模式/未认证” (SQLite, new ledgers only)",
    )
    p.add_argument(
        "--policy",
        metavar="FILE",
        help="新台账的初始政策文件 (TOML, read once when the ledger has no policy yet)",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("tools", help="列出政策工具 (list the tools)")
    add_json_flag(p)
    p.set_defaults(func=cmd_tools)

    p = sub.add_parser("demo", help="载入演示数据 (load deterministic demo data)")
    p.add_argument("--drawdowns", type=int, default=5000)
    p.add_argument("--year", type=int, default=None, help="last year of data (default: this year)")
    p.add_argument("--years", type=int, default=1, help="how many years, ending with --year")
    p.add_argument("--seed", type=int, default=2023)
    p.set_defaults(func=cmd_demo)

    inst = sub.add_parser("institution", help="机构 (banks)").add_subparsers(
        dest="sub", metavar="ACTION", required=True
    )
    p = inst.add_parser("add", help="登记机构 (register a bank)")
    p.add_argument("code")
    p.add_argument("name")
    p.add_argument("--type", default="", dest="type_")
    p.add_argument(
        "--office",
        default="",
        help="经办的人民银行机构,如 营业管理部、中关村中心支行 (the PBOC office handling its drawdowns)",
    )
    p.set_defaults(func=cmd_institution_add)

    ent = sub.add_parser("enterprise", help="企业 (end borrowers)").add_subparsers(
        dest="sub", metavar="ACTION", required=True
    )
    p = ent.add_parser("add", help="登记企业 (register an enterprise)")
    p.add_argument("uscc")
    p.add_argument("name")
    p.add_argument("--industry", required=True, help="GB/T 4754-2017 code, e.g. C3911")
    p.add_argument("--size", required=True, help="large/medium/small/micro or 大型/中型/小型/微型")
    p.set_defaults(func=cmd_enterprise_add)
    p = ent.add_parser("status", help="登记资质及有效期 (record a status with its validity)")
    p.add_argument("uscc")
    p.add_argument("status")
    p.add_argument("--from", dest="valid_from", type=_date_arg, required=True)
    p.add_argument("--to", dest="valid_to", type=_date_arg)
    p.add_argument("--source", default="")
    p.set_defaults(func=cmd_enterprise_status)

    p = sub.add_parser("book", help="登记一笔发放 (book a drawdown); prints its id")
    p.add_argument("--tool", required=True, help="code or Chinese name, e.g. JCT or 京创通")
    p.add_argument("--institution", required=True, help="institution code")
    p.add_argument("--enterprise", required=True, help="USCC")
    p.add_argument("--drawn-on", required=True)
    p.add_argument("--maturity-on", required=True)
    p.add_argument("--amount", help="central-bank amount, yuan")
    p.add_argument("--principal", help="loan principal or bill face, yuan")
    p.add_argument("--cb-rate", help="central-bank rate, percent (default: the rate table)")
    p.add_argument("--lend-rate", help="end-borrower loan or discount rate, percent")
    p.add_argument("--bill-no")
    p.add_argument("--bill-range")
    p.add_argument("--batch-ref", default="")
    p.add_argument("--ref", default="", help="external reference (业务编号)")
    p.add_argument("--override", default="", help="reason for booking despite an eligibility rule")
    p.add_argument(
        "--office", default="", help="经办行 (the PBOC office that handled it; default: the bank's)"
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_book)

    p = sub.add_parser("reverse", help="冲正 (reverse a drawdown)")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True)
    p.add_argument(
        "--on", type=_date_arg, help="冲正生效日,不早于发放日,且在未月结月份 (effective date, default today)"
    )
    p.set_defaults(func=cmd_reverse)

    p = sub.add_parser("repay", help="提前收回 (early repayment)")
    p.add_argument("id", type=int)
    p.add_argument("--on", required=True)
    p.add_argument("--amount", help="yuan (default: all that remains)")
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_repay)

    p = sub.add_parser("rollover", help="展期 (roll over to a new maturity)")
    p.add_argument("id", type=int)
    p.add_argument("--to", required=True)
    p.add_argument("--reason", default="")
    p.set_defaults(func=cmd_rollover)

    p = sub.add_parser("close", help="月结 (close a month)")
    p.add_argument("--month", required=True, help="YYYY-MM")
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("outstanding", help="余额 (outstanding balances by tool)")
    p.add_argument("--as-of", type=_date_arg, default=None)
    p.add_argument("--tool")
    add_json_flag(p)
    p.set_defaults(func=cmd_outstanding)

    audit = sub.add_parser("audit", help="审计 (audit trail)").add_subparsers(
        dest="sub", metavar="ACTION", required=True
    )
    p = audit.add_parser("verify", help="校验审计链与台账 (verify the chain and the ledger rows)")
    p.add_argument(
        "--expect-head",
        action="append",
        default=[],
        metavar="COUNT:HASH",
        type=_head_arg,
        help="已知的链头(如报告所印);链短于此或第COUNT条哈希不同即失败 (repeatable)",
    )
    p.add_argument(
        "--since-anchor",
        action="store_true",
        help="从最近的锚点(月结、报告登记或 --expect-head)开始校验 (daily quick check)",
    )
    p.set_defaults(func=cmd_audit_verify)
    p = audit.add_parser("head", help="审计链头:记录数与末条哈希 (COUNT HASH)")
    p.set_defaults(func=cmd_audit_head)

    p = sub.add_parser(
        "sql",
        help="只读SQL查询 (read-only SQL: one query, run by the database as a read-only role, with a time limit)",
    )
    p.add_argument("query")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_ROW_CAP,
        help=f"row cap (default {DEFAULT_ROW_CAP}, at most {MAX_ROW_CAP:,}); 0 = every row, only with "
        "--format csv --out FILE",
    )
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help=f"seconds (default {DEFAULT_TIMEOUT_S:g})"
    )
    p.add_argument(
        "--out", metavar="FILE", help="write the result to FILE (never the ledger; --force replaces)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=cmd_sql)


def cmd_init(args: argparse.Namespace) -> int:
    from ledger.config import load_local, policy_part, read_small_toml

    ledger = open_ledger(args, require_schema=False)
    if args.policy:
        data = read_small_toml(args.policy)
        unknown = [k for k in data if k not in ("share", "inclusive", "tools", "maker_checker")]
        if unknown:
            raise CommandFailed(
                f"错误 (error): {args.policy}: {unknown[0]}: 不是政策项 (not a policy section)"
            )
        overlay, source = policy_part(data), str(args.policy)
        load_local(None)  # the local file, if any, must still be valid
    else:
        overlay, found = local_policy(args)
        source = f"{found} (升级时一次性导入 imported once at upgrade)" if found else "packaged defaults"
    result = ledger.init(training=args.training, policy_overlay=overlay, policy_source=source)
    changed = (
        f"{len(result.tools_changed)} 个工具已更新"
        if result.tools_changed
        else "工具目录无变化 (catalogue unchanged)"
    )
    mode = " — 培训模式/未认证 (training mode)" if result.training else ""
    loaded = f" — 政策已载入: {source} (policy loaded)" if result.policy_loaded else ""
    print(f"数据库已就绪 (database ready): {result.url} — {changed}{loaded}{mode}")
    for note in result.notes:
        print(f"提示 (note): {note}", file=sys.stderr)
    if args.policy and not result.policy_loaded:
        raise CommandFailed(
            f"错误 (error): 台账已有政策,未采用 {args.policy};请用 ledger policy set 提交变更并经复核 (this ledger "
            f"already has its policy: --policy only seeds a new ledger; change it with `ledger policy set`)",
            1,
        )
    return 0


def cmd_tools(args: argparse.Namespace) -> int:
    from ledger.config import check_policy, default_policy
    from ledger.db.engine import schema_ready
    from ledger.services.catalogue_sync import tool_row

    ledger = open_ledger(args, require_schema=False)
    # The ledger's policy today (quotas, rate tables); before `ledger init`, the packaged defaults.
    catalogue = ledger.catalogue if schema_ready(ledger.engine) else check_policy(default_policy()).catalogue
    if args.json:
        out = []
        for t in catalogue:
            row = tool_row(t)
            row.update(
                kind_name=t.kind_name,
                funding_share=t.funding_share,
                lend_rate_cap=t.lend_rate_cap,
                annual_quota_yuan=t.annual_quota_yuan,
                tenors_months=list(t.tenors_months),
                funding_basis=t.funding_basis,
                aliases=list(t.aliases),
                sources=t.fact_sources(),
                rates=[
                    {
                        "effective_on": p.effective_on,
                        "tenor_months": p.tenor_months,
                        "rate": p.rate,
                        "source": p.source,
                    }
                    for p in t.rate_table.points
                ],
            )
            out.append(jsonable(row))
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    today = date.today()
    print(
        f"{'代码':<6}{'名称':<18}{'类型':<6}{'地区':<4}{'资金比例':<8}{'期限':<10}{'当前利率%':<10}支持对象"
    )
    for t in catalogue:
        share = f"{t.funding_share:.0%}" if t.funding_share is not None else "—"
        term = (
            "/".join(str(m) for m in t.tenors_months) + "月"
            if t.tenors_months
            else (f"{t.max_term_months}月" if t.max_term_months else "至票据到期")
        )
        rate = t.rate_table.rate_on(today, max(t.tenors_months or (0,)))
        status = "" if t.available_on(today) else f" (可用期 {t.valid_from or '…'}—{t.valid_to or '…'})"
        print(
            f"{t.code:<6}{_pad(t.name, 18)}{t.kind_name:<6}{t.region:<4}{share:<8}{_pad(term, 10)}"
            f"{rate if rate is not None else '—'!s:<10}{t.eligibility.description}{status}"
        )
    return 0


def _pad(text: str, width: int) -> str:
    """Pads counting a CJK character as two columns so the table lines up in a terminal."""
    used = sum(2 if ord(c) > 0x2E80 else 1 for c in text)
    return text + " " * max(1, width - used)


def cmd_demo(args: argparse.Namespace) -> int:
    ledger = open_ledger(args, require_schema=False)
    ledger.init()
    if args.drawdowns < 0 or args.years < 1:
        raise CommandFailed("--drawdowns must be ≥ 0 and --years ≥ 1", 2)
    result = ledger.load_demo(drawdowns=args.drawdowns, year=args.year, years=args.years, seed=args.seed)
    print(
        f"演示数据已载入 (demo loaded): {result.institutions} 家机构, {result.enterprises} 户企业, "
        f"{result.drawdowns} 笔发放, {result.events} 个事件 — {ledger.url}"
    )
    return 0


def cmd_institution_add(args: argparse.Namespace) -> int:
    new_id = open_ledger(args).add_institution(args.code, args.name, args.type_, args.office)
    print(new_id)
    return 0


def cmd_enterprise_add(args: argparse.Namespace) -> int:
    print(open_ledger(args).add_enterprise(args.uscc, args.name, args.industry, args.size))
    return 0


def cmd_enterprise_status(args: argparse.Namespace) -> int:
    print(open_ledger(args).add_status(args.uscc, args.status, args.valid_from, args.valid_to, args.source))
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    request = BookingRequest(
        tool=args.tool,
        institution_code=args.institution,
        enterprise_uscc=args.enterprise,
        drawn_on=args.drawn_on,
        maturity_on=args.maturity_on,
        amount=args.amount,
        principal=args.principal,
        cb_rate=args.cb_rate,
        lend_rate=args.lend_rate,
        bill_no=args.bill_no,
        bill_range=args.bill_range,
        batch_ref=args.batch_ref,
        ext_ref=args.ref,
        override_reason=args.override,
        office=args.office,
    )
    booked = ledger.book(request)
    for warning in booked.warnings:
        print(f"提示 (note): {warning}", file=sys.stderr)
    if isinstance(booked, Queued):
        limit = format_yuan(fen_to_yuan(booked.limit_fen))
        print(
            f"超过授权限额{limit}元,已提交复核 (above the authority limit: pending approval #{booked.pending_id})",
            file=sys.stderr,
        )
        print(f"pending:{booked.pending_id}")
        return 0
    if args.json:
        print(
            json.dumps(
                jsonable({"id": booked.id, **booked.values, "warnings": list(booked.warnings)}),
                ensure_ascii=False,
            )
        )
    else:
        print(booked.id)
    return 0


def cmd_reverse(args: argparse.Namespace) -> int:
    print(open_ledger(args).reverse(args.id, args.reason, args.on))
    return 0


def cmd_repay(args: argparse.Namespace) -> int:
    print(open_ledger(args).repay(args.id, args.on, args.amount, args.reason))
    return 0


def cmd_rollover(args: argparse.Namespace) -> int:
    print(open_ledger(args).rollover(args.id, args.to, args.reason))
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    open_ledger(args).close_month(args.month)
    print(f"{args.month} 已月结 (closed)")
    return 0


def cmd_outstanding(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    as_of = args.as_of or date.today()
    rows = ledger.outstanding(as_of, args.tool)
    total_fen = sum(r.amount_fen for r in rows)
    if args.json:
        print(
            json.dumps(
                jsonable(
                    {
                        "as_of": as_of,
                        "total": str(fen_to_yuan(total_fen)),
                        "by_tool": [
                            {"tool": r.tool_code, "drawdowns": r.drawdowns, "amount": str(r.amount)}
                            for r in rows
                        ],
                    }
                ),
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(f"余额 (outstanding) as of {as_of.isoformat()}")
    print(f"{'工具':<22}{'笔数':>10}{'余额(元)':>24}")
    for r in rows:
        name = ledger.tool(r.tool_code).name
        print(f"{_pad(f'{r.tool_code} {name}', 22)}{r.drawdowns:>10,}{format_yuan(r.amount):>24}")
    print(
        f"{_pad('合计 (total)', 22)}{sum(r.drawdowns for r in rows):>10,}{format_yuan(fen_to_yuan(total_fen)):>24}"
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    result = open_ledger(args).verify_audit(args.expect_head, args.since_anchor)
    if result.ok:
        since = f",自第{result.since}条起 (from record {result.since})" if result.since else ""
        print(
            f"审计链完整 (audit trail intact): {result.records} 条记录, {result.rows} 行台账数据, "
            f"{result.anchors} 个锚点{since}; 链头 (head) {result.head[0]} {result.head[1]}"
        )
        return 0
    raise CommandFailed(f"审计校验失败 (audit verify FAILED): {result.problem}", 1)


def cmd_audit_head(args: argparse.Namespace) -> int:
    count, digest = open_ledger(args).audit_head()
    print(f"{count} {digest}")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    if args.limit < 0 or args.limit > MAX_ROW_CAP:
        raise ValidationError.single(
            "--limit", args.limit, f"须在 0–{MAX_ROW_CAP:,} 之间 (0 to {MAX_ROW_CAP:,})"
        )
    if args.limit == 0 and not (args.format == "csv" and args.out):
        raise ValidationError.single(
            "--limit",
            0,
            "不限行数仅用于 --format csv --out FILE (every row only when streaming CSV to a file)",
        )
    ledger = open_ledger(args)
    if args.out:
        return _sql_to_file(ledger, args)
    result = ledger.sql(args.query, args.limit, args.timeout)
    if args.format == "json":
        print(
            json.dumps(
                [dict(zip(result.columns, map(_plain, r), strict=True)) for r in result.rows],
                ensure_ascii=False,
                indent=1,
            )
        )
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_csv_cell(v) for v in r] for r in result.rows)
    else:
        _print_table(result.columns, [[_plain(v) for v in r] for r in result.rows])
    shown = len(result.rows)
    note = _capped_note(shown) if result.truncated else f"({shown} 行 rows)"
    print(note, file=sys.stdout if args.format == "table" else sys.stderr)
    return 0


def _capped_note(shown: int) -> str:
    return (
        f"({shown} 行,结果多于 {shown} 行,已截断 — {shown} of more than {shown} rows; --limit N, or "
        "--format csv --limit 0 --out FILE for every row)"
    )


def _sql_to_file(ledger: Any, args: argparse.Namespace) -> int:
    """CSV streamed to a file (every row with --limit 0) or the capped result as JSON/CSV/table text."""
    from ledger.services.safe_output import open_output

    count, truncated = 0, False
    with open_output(
        args.out, "w", force=args.force, protect=ledger.own_files, encoding="utf-8-sig", newline=""
    ) as handle:
        if args.format == "csv":
            writer = csv.writer(handle)
            with contextlib.closing(ledger.sql_rows(args.query, args.timeout)) as rows:
                writer.writerow(next(rows))
                for row in rows:
                    if args.limit and count >= args.limit:
                        truncated = True
                        break
                    writer.writerow([_csv_cell(v) for v in row])
                    count += 1
        else:
            result = ledger.sql(args.query, args.limit, args.timeout)
            count, truncated = len(result.rows), result.truncated
            if args.format == "json":
                records = [dict(zip(result.columns, map(_plain, r), strict=True)) for r in result.rows]
                handle.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
            else:
                with contextlib.redirect_stdout(handle):
                    _print_table(result.columns, [[_plain(v) for v in r] for r in result.rows])
    print(f"已写入 {count} 行到 {args.out}" + (" " + _capped_note(count) if truncated else ""))
    return 0


def _csv_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading `'`; numbers stay numbers."""
    from ledger.io.readers import safe_cell

    return safe_cell(value) if isinstance(value, str) else _plain(value)


def _plain(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal | date):
        return str(value)
    return value


def _print_table(columns: list[str], rows: list[list[Any]]) -> None:
    widths = [
        max([_width(str(c))] + [_width("" if r[i] is None else str(r[i])) for r in rows])
        for i, c in enumerate(columns)
    ]
    print(" | ".join(_pad_to(str(c), w) for c, w in zip(columns, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(_pad_to("" if v is None else str(v), w) for v, w in zip(row, widths, strict=True)))


def _width(text: str) -> int:
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _pad_to(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


__all__ = ["ValidationError", "register"]
