"""Turning an exception from a worker into one line the operator can act on (never a traceback on screen)."""

from __future__ import annotations

import re

from sqlalchemy.exc import SQLAlchemyError

from ledger.domain.errors import LedgerError, ValidationError

# The core writes its messages as "中文 (English)"; the UI shows the half in the operator's language.
_BILINGUAL = re.compile(r"^(?P<zh>.*?[^\x00-\x7f][^()]*?)\s\((?P<en>[A-Za-z][^()]*)\)(?P<rest>[^()]*)$", re.S)


def localise(message: str) -> str:
    """A core message in the current language: "到期日须晚于发放日 (must be after drawn_on)" → the Chinese half in
    Chinese mode, the English half in English mode. The English half of "…(or give an override reason)"-style
    addenda is only a hint, so English mode keeps the whole message there."""
    from ledger.tui.i18n import language

    match = _BILINGUAL.match(message)
    if match is None:
        return message
    if language() == "zh":
        return match["zh"] + match["rest"]
    english = match["en"]
    if english.split(" ", 1)[0] in ("or", "and", "e.g.", "see"):
        return message
    head = re.match(r"^([\w.]+=\S+:\s)", match["zh"])
    return (head.group(1) if head else "") + english + match["rest"]


def describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(localise(p.rule) for p in exc.problems)
    if isinstance(exc, LedgerError):
        return localise(str(exc))
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        return "数据库错误 (database error): " + (str(orig or exc).strip().splitlines() or [""])[0]
    return f"内部错误 (internal error): {type(exc).__name__}: {exc}"


def field_messages(exc: ValidationError) -> dict[str, str]:
    """field → the rules it broke, joined, so a form can show them beside each input."""
    out: dict[str, list[str]] = {}
    for problem in exc.problems:
        out.setdefault(problem.field, []).append(localise(problem.rule))
    return {field: "; ".join(rules) for field, rules in out.items()}
