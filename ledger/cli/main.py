"""Entry point. Exit codes: 0 success, 1 validation or rule failure (message on stderr), 2 usage error.

No Python traceback reaches a user for bad input: every LedgerError is printed as one clear message; anything
else is a bug and is reported as such, with the traceback only under LEDGER_DEBUG=1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from ledger.cli import access_cmds, check_cmds, core_cmds, io_cmds, report_cmds, tui_cmds
from ledger.cli.common import CommandFailed, fail_message

COMMAND_GROUPS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (  # type: ignore[type-arg]
    core_cmds.register,
    check_cmds.register,
    io_cmds.register,
    report_cmds.register,
    access_cmds.register,
    tui_cmds.register,
)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 用法错误 (usage error): {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ledger", description="专项再贷款再贴现台账 — relending & rediscount programme ledger"
    )
    parser.add_argument("--db", help="SQLite file or SQLAlchemy URL (default $LEDGER_DB or ./ledger.db)")
    parser.add_argument("--user", help="acting user (default $LEDGER_USER or the OS user)")
    parser.add_argument("--config", help="ledger.toml (default $LEDGER_CONFIG or ./ledger.toml)")
    parser.add_argument(
        "--lang", choices=("zh", "en"), help="interface language (default $LEDGER_LANG or zh)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for register in COMMAND_GROUPS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        os.environ["LEDGER_LANG"] = args.lang
    func = getattr(args, "func", None)
    if func is None:  # `ledger` alone opens the UI
        func = tui_cmds.run_tui
    try:
        result = func(args)
        return int(result or 0)
    except CommandFailed as exc:
        if exc.message:
            print(exc.message, file=sys.stderr)
        return exc.code
    except BrokenPipeError:  # `ledger sql … | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("已中断 (interrupted)", file=sys.stderr)
        return 130
    except Exception as exc:
        message, code = fail_message(exc)
        print(message, file=sys.stderr)
        if os.environ.get("LEDGER_DEBUG") == "1":
            raise
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
