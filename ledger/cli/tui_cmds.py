"""`ledger tui` (and `ledger` alone): opens the terminal UI. Textual is imported only here, only when used, so
the other commands never pay for it."""

from __future__ import annotations

import argparse
import os
from datetime import date


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tui", help="打开终端界面 (open the terminal UI)")
    p.add_argument("--today", help="treat this ISO date as today (demos, training, reproducing a screen)")
    p.add_argument(
        "--screen",
        default="dashboard",
        choices=("dashboard", "drawdowns", "new", "reference", "rules", "reports", "sql", "audit", "pending"),
        help="screen to open first (default dashboard)",
    )
    p.set_defaults(func=run_tui)


def run_tui(args: argparse.Namespace) -> int:
    from ledger.cli.common import CommandFailed, open_ledger

    if getattr(args, "lang", None):
        os.environ["LEDGER_LANG"] = args.lang
    today_text = getattr(args, "today", None)
    try:
        today = date.fromisoformat(today_text) if today_text else None
    except ValueError as exc:
        raise CommandFailed(f"--today={today_text!r}: 日期格式应为YYYY-MM-DD (ISO date)", 2) from exc
    ledger = open_ledger(args)
    try:
        from ledger.tui.launch import run

        return run(ledger, today, getattr(args, "screen", "dashboard"))
    finally:
        ledger.dispose()
