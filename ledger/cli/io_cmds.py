"""Import and export commands: `ledger import drawdowns|enterprises FILE`, `ledger export drawdowns`.

Exit codes: 0 imported (or nothing to do), 1 any row rejected (nothing written) or a file-level problem.
Row errors go to stderr (the first 100; all of them in --rejects), the summary to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ledger.cli.common import CommandFailed, add_json_flag, open_ledger
from ledger.io.enterprises import import_enterprises
from ledger.io.exporter import FORMATS, export_drawdowns
from ledger.io.importer import ImportResult, import_drawdowns
from ledger.io.rejects import RowError

SHOWN_ERRORS = 100
PROGRESS_FROM_ROWS = 5000


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    imp = sub.add_parser("import", help="批量导入 (bulk import from CSV/XLSX)").add_subparsers(
        dest="sub", metavar="WHAT", required=True
    )
    p = imp.add_parser("drawdowns", help="导入发放明细 (drawdowns: all or nothing, one audit record)")
    p.add_argument("file", help="CSV (UTF-8, UTF-8 BOM or GB18030) or XLSX")
    p.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    p.add_argument("--rejects", metavar="OUT.csv", help="write rejected rows with their errors here")
    p.add_argument("--force", action="store_true", help="replace an existing --rejects file")
    add_json_flag(p)
    p.set_defaults(func=cmd_import_drawdowns)

    p = imp.add_parser("enterprises", help="导入企业名录及资质 (enterprise directory with dated statuses)")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--rejects", metavar="OUT.csv")
    p.add_argument("--force", action="store_true", help="replace an existing --rejects file")
    add_json_flag(p)
    p.set_defaults(func=cmd_import_enterprises)

    exp = sub.add_parser("export", help="导出 (export)").add_subparsers(
        dest="sub", metavar="WHAT", required=True
    )
    p = exp.add_parser("drawdowns", help="导出发放明细,列名与导入一致 (re-importable)")
    p.add_argument("--year", type=int)
    p.add_argument("--month", type=int)
    p.add_argument("--tool", help="code or Chinese name")
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument(
        "--header", choices=("en", "zh"), default="en", help="column names: English (default) or Chinese"
    )
    p.add_argument("--out", required=True, help="never the ledger itself; an existing file only with --force")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=cmd_export_drawdowns)


class _ProgressBar:
    """A one-line counter on stderr, only when stderr is a terminal and the file is past a few thousand rows."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.shown = False

    def __call__(self, rows: int) -> None:
        if rows < PROGRESS_FROM_ROWS:
            return
        rate = rows / max(time.perf_counter() - self.started, 1e-9)
        sys.stderr.write(f"\r已处理 {rows:,} 行 ({rate:,.0f} 行/秒)")
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _print_errors(errors: list[RowError], total: int, rejects: str | None) -> None:
    print(f"导入失败,未写入任何数据 (import failed, nothing written): {total} 个问题", file=sys.stderr)
    for error in errors[:SHOWN_ERRORS]:
        print(f"  {error}", file=sys.stderr)
    if total > SHOWN_ERRORS:
        where = f",全部见 {rejects}" if rejects else " (use --rejects OUT.csv for all of them)"
        print(f"  … 另有 {total - SHOWN_ERRORS} 个问题{where}", file=sys.stderr)


def _summary(result: ImportResult) -> dict[str, Any]:
    return {
        "file": result.path,
        "encoding": result.encoding,
        "dry_run": result.dry_run,
        "ok": result.ok,
        "rows": result.rows,
        "new": result.new,
        "skipped": result.skipped,
        "rejected": result.rejected,
        "errors": result.error_count,
        "warnings": result.warnings,
        "new_institutions": result.new_institutions,
        "new_enterprises": result.new_enterprises,
        "new_statuses": result.new_statuses,
        "ignored_columns": list(result.ignored_columns),
        "audit_id": result.audit_id,
        "above_limit": result.above_limit,
        "pending_id": result.pending_id,
        "seconds": round(result.seconds, 3),
    }


def cmd_import_drawdowns(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        result = import_drawdowns(
            ledger, args.file, dry_run=args.dry_run, rejects=args.rejects, progress=bar, force=args.force
        )
    finally:
        if bar is not None:
            bar.done()
        ledger.dispose()
    for column in result.ignored_columns:
        print(f"警告 (warning): 忽略未知列「{column}」(column ignored)", file=sys.stderr)
    if args.json:
        print(json.dumps(_summary(result), ensure_ascii=False))
    if not result.ok:
        _print_errors(result.errors, result.error_count, args.rejects)
        if not args.json:
            print(f"共 {result.rows} 行:可导入 {result.new},已存在 {result.skipped},拒绝 {result.rejected}")
        raise CommandFailed("", 1)
    if result.pending_id is not None:
        if not args.json:
            print(
                f"{result.above_limit} 行超过授权限额,整个文件已提交复核,尚未写入 (rows above the authority limit: "
                f"the whole file waits for approval #{result.pending_id}; nothing written yet): 共 {result.rows} 行,"
                f"待导入 {result.new},已存在 {result.skipped}"
            )
        return 0
    if not args.json:
        verb = "试运行,未写入 (dry run, nothing written)" if result.dry_run else "已导入 (imported)"
        print(
            f"{verb}: 共 {result.rows} 行,新增 {result.new},已存在跳过 {result.skipped},拒绝 {result.rejected};"
            f"新增机构 {result.new_institutions},企业 {result.new_enterprises},资质 {result.new_statuses}"
            + (f";审计记录 #{result.audit_id}" if result.audit_id else "")
            + (f";{result.warnings} 条警告(利率与利率表不符等)" if result.warnings else "")
        )
    return 0


def cmd_import_enterprises(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        result = import_enterprises(
            ledger, args.file, dry_run=args.dry_run, rejects=args.rejects, force=args.force
        )
    finally:
        ledger.dispose()
    for column in result.ignored_columns:
        print(f"警告 (warning): 忽略未知列「{column}」(column ignored)", file=sys.stderr)
    summary = {
        "file": result.path,
        "dry_run": result.dry_run,
        "ok": result.ok,
        "rows": result.rows,
        "new_enterprises": result.new_enterprises,
        "new_statuses": result.new_statuses,
        "skipped": result.skipped,
        "rejected": result.rejected,
        "errors": result.error_count,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    if not result.ok:
        _print_errors(result.errors, result.error_count, args.rejects)
        raise CommandFailed("", 1)
    if not args.json:
        verb = "试运行,未写入 (dry run)" if result.dry_run else "已导入 (imported)"
        print(
            f"{verb}: 共 {result.rows} 行,新增企业 {result.new_enterprises},资质 {result.new_statuses},"
            f"已存在跳过 {result.skipped}"
        )
    return 0


def cmd_export_drawdowns(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        result = export_drawdowns(
            ledger,
            args.out,
            format=args.format,
            year=args.year,
            month=args.month,
            tool=args.tool,
            language=args.header,
            force=args.force,
        )
    finally:
        ledger.dispose()
    print(f"已导出 (exported) {result.rows} 笔到 {result.path}")
    return 0
