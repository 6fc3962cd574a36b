"""Turning an exception from a worker into one line the operator can act on (never a traceback on screen)."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from ledger.domain.errors import LedgerError, ValidationError


def describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(p.rule for p in exc.problems)
    if isinstance(exc, LedgerError):
        return str(exc)
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        return "数据库错误 (database error): " + (str(orig or exc).strip().splitlines() or [""])[0]
    return f"内部错误 (internal error): {type(exc).__name__}: {exc}"


def field_messages(exc: ValidationError) -> dict[str, str]:
    """field → the rules it broke, joined, so a form can show them beside each input."""
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        out.setdefault(problem.field, []).append(problem.rule)
    return {field: "; ".join(rules) for field, rules in out.items()}
