"""`ledger report monthly` (month-end PDF reports) and `ledger report verify FILE` (is this the registered copy?)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.cli.common import CommandFailed, open_ledger


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds this group's subcommands to the `ledger` parser."""
    report = sub.add_parser("report", help="月度报告 (month-end PDF reports)")
    rsub = report.add_subparsers(dest="report_command", metavar="SUBCOMMAND", parser_class=type(report))
    report.set_defaults(func=lambda _args: _usage(report))

    monthly = rsub.add_parser("monthly", help="生成月度工具报告和汇总报告 (tool reports and the summary)")
    monthly.add_argument("--month", required=True, help="报告期 YYYY-MM")
    monthly.add_argument(
        "--tool",
        nargs="+",
        action="extend",
        metavar="CODE",
        help="只生成这些工具 (codes or Chinese names; default: every tool with activity or balance)",
    )
    monthly.add_argument("--out", default=".", help="输出目录 (default: current directory)")
    monthly.add_argument("--force", action="store_true", help="replace this period's report files in --out")
    monthly.add_argument("--generated-at", help="报告上的生成时间, ISO 8601 (fixed → byte-identical PDFs)")
    monthly.add_argument("--edition", default="zh", help="模板版本 templates/pdf/<edition>.toml (default zh)")
    monthly.set_defaults(func=run_monthly)

    verify = rsub.add_parser("verify", help="核对 PDF 是否与登记一致 (exit 0 match, 1 not)")
    verify.add_argument("file", help="PDF file")
    verify.set_defaults(func=run_verify)


def _check_outputs(ledger: Any, args: argparse.Namespace, batch: Any) -> None:
    """Before any work: the period's report files already in --out are replaced only with --force, and never when
    one of them is the ledger itself (ledger.services.safe_output)."""
    from pathlib import Path

    from ledger.reports import figures
    from ledger.services.safe_output import check_target

    directory = Path(args.out).expanduser()
    if directory.exists() and not directory.is_dir():
        raise CommandFailed(f"--out {directory}: 不是目录 (not a directory)", 1)
    pattern = batch.file_name(figures.Period.parse(args.month), "*")
    for existing in sorted(directory.glob(pattern)) if directory.is_dir() else ():
        check_target(existing, force=args.force, protect=ledger.own_files)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_monthly(args: argparse.Namespace) -> int:
    from ledger.reports import batch  # reportlab loads only when a report is made (CLI start-up stays fast)

    ledger = open_ledger(args)
    _check_outputs(ledger, args, batch)
    try:
        results = batch.monthly_reports(
            ledger, args.month, args.tool, args.out, args.generated_at, edition=args.edition
        )
    finally:
        ledger.dispose()
    for item in results:
        print(item.path)
        if not item.newly_registered:
            print(
                f"沿用第{item.record_id}号登记 (same data: registration {item.record_id} reused, generated at "
                f"{item.generated_at})",
                file=sys.stderr,
            )
    new = sum(1 for r in results if r.newly_registered)
    print(
        f"已生成 {len(results)} 份报告，新登记 {new} 份 (generated {len(results)}, newly registered {new})",
        file=sys.stderr,
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from ledger.reports import batch

    ledger = open_ledger(args)
    try:
        outcome = batch.verify(ledger, args.file)
    finally:
        ledger.dispose()
    for r in outcome.matches:
        later = outcome.superseded.get(r.id)
        if later is not None:
            raise CommandFailed(
                f"已被第 {later.id} 号报告取代 (superseded by report {later.id}): {outcome.path} 即登记第{r.id}号报告 "
                f"{r.file_name} [{r.tool_code or '汇总'} {r.period}], 其后第{later.id}号 ({later.file_name}, "
                f"生成于 {later.generated_at}) 的数据指纹不同 ({r.data_fingerprint[:16]}… → "
                f"{later.data_fingerprint[:16]}…)"
            )
    if outcome.ok:
        for r in outcome.matches:
            scope = r.tool_code or "汇总"
            status = {"preliminary": " 初步数", "final": " 正式数"}.get(r.status, "")
            print(
                f"一致 (match): {outcome.path} 即登记第{r.id}号报告 {r.file_name} [{scope} {r.period}{status}], "
                f"生成于 {r.generated_at}, 审计记录 #{r.audit_id}; sha256 {outcome.sha256}"
            )
        return 0
    if outcome.same_name:
        latest = outcome.same_name[-1]
        raise CommandFailed(
            f"不一致 (no match): {outcome.path} 的 sha256 {outcome.sha256} 与登记的 {latest.file_name} "
            f"(第{latest.id}号, sha256 {latest.sha256}) 不同: 文件已被改动或不是台账生成的版本"
        )
    raise CommandFailed(
        f"未登记 (not registered): {outcome.path} 的 sha256 {outcome.sha256} 不在报告登记簿中"
    )
