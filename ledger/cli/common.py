"""What every command module shares: opening the ledger from the global options, and error → exit code."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ledger.config import ConfigError, load_config
from ledger.domain.errors import LedgerError, ValidationError
from ledger.facade import Ledger


class CommandFailed(Exception):
    """Raised by a command to exit with `code` (1: rule or validation failure) after printing `message`."""

    def __init__(self, message: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def open_ledger(args: argparse.Namespace, *, require_schema: bool = True) -> Ledger:
    ledger = Ledger(args.db, actor=args.user, config=load_config(args.config))
    if require_schema:
        ledger.require_schema()
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
