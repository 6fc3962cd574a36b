"""`ledger tui` (and `ledger` alone): opens the terminal UI. Textual is imported only here, only when used."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tui", help="打开终端界面 (open the terminal UI)")
    p.set_defaults(func=run_tui)


def run_tui(args: argparse.Namespace) -> int:
    from ledger.cli.common import CommandFailed

    raise CommandFailed("终端界面尚未提供 (the terminal UI is not built yet)", 1)
