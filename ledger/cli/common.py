"""What every command module shares: opening the ledger from the global options, and error → exit code."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ledger.config import ConfigError, load_local
from ledger.domain.errors import LedgerError, ValidationError
from ledger.facade import Ledger


class CommandFailed(Exception):
    """Raised by a command to exit with `code` (1: rule or validation failure) after printing `message`."""

    def __init__(self, message: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def local_policy(args: argparse.Namespace) -> tuple[dict[str, Any], str | None]:
    """The policy sections of the local config file (validated), and its path: used only by `ledger init` on a
    ledger without policy. Everywhere else they are ignored, and said so once."""
    settings, policy = load_local(getattr(args, "config", None))
    return policy, settings.source if policy else None


def open_ledger(args: argparse.Namespace, *, require_schema: bool = True) -> Ledger:
    """The ledger named by --db, acting as the authenticated user (--user must name that same user, except on a
    training-mode ledger). The config file may set local preferences only; policy sections are reported ignored."""
    import sys

    settings, policy = load_local(getattr(args, "config", None))
    if settings.lang and not getattr(args, "lang", None):
        import os

        os.environ.setdefault("LEDGER_LANG", settings.lang)
    if policy and getattr(args, "command", None) != "init":
        print(
            f"提示 (note): {settings.source} 中的政策设置不生效;政策由台账记录,见 `ledger policy show` "
            f"(policy keys in a config file are ignored: the policy lives in the ledger)",
            file=sys.stderr,
        )
    ledger = Ledger(args.db, actor=args.user)
    if require_schema:
        ledger.require_schema()
        _ = ledger.actor  # authenticate now: a --user naming someone else fails every command, reads too
    return ledger


def fail_message(exc: BaseException) -> tuple[str, int]:
    if isinstance(exc, ValidationError):
        lines = ["输入有误 (invalid input):"] + [f"  - {p}" for p in exc.problems]
        return "\n".join(lines), 1
    if isinstance(exc, LedgerError | ConfigError):
        return f"错误 (error): {exc}", 1
    if isinstance(exc, OSError):  # a path the user gave: missing, a directory, unreadable, disk full
        where = f": {exc.filename}" if exc.filename is not None else ""
        return f"文件错误 (file error): {exc.strerror or exc}{where}", 1
    if isinstance(exc, OperationalError):
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"数据库错误 (database error): {first}", 1
    if isinstance(exc, SQLAlchemyError):
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"数据库错误 (database error): {first}", 1
    return f"内部错误,请报告 (internal error, please report): {type(exc).__name__}: {exc}", 3


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")


def jsonable(value: Any) -> Any:
    """Decimals and dates as strings: JSON output never carries a float amount."""
    from datetime import date
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
