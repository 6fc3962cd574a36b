"""Errors a user can act on.

Every error names the field and the rule so a face can show it beside the input (TUI), on stderr (CLI) or in a
rejects file (import) without parsing the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class LedgerError(Exception):
    """Base for every error that is the user's to fix (exit 1 on the command line, never a traceback)."""


@dataclass(frozen=True)
class FieldProblem:
    field: str
    value: str
    rule: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"{self.field}={shown!r}: {self.rule}"


class ValidationError(LedgerError):
    """One or more fields break a rule; all problems are collected, not just the first."""

    def __init__(self, problems: Sequence[FieldProblem] | FieldProblem) -> None:
        self.problems = [problems] if isinstance(problems, FieldProblem) else list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, field: str, value: object, rule: str) -> ValidationError:
        return cls(FieldProblem(field, "" if value is None else str(value), rule))


NUL_RULE = "不得含有NUL控制字符 (text may not contain NUL bytes)"


def nul_problems(fields: Mapping[str, object]) -> list[FieldProblem]:
    """Text with a NUL byte: PostgreSQL refuses it in any text column or parameter (a database error, not a
    message), SQLite would store a string that ends early for C readers. Checked before any query is sent."""
    return [
        FieldProblem(name, value.replace("\x00", "\\x00"), NUL_RULE)
        for name, value in fields.items()
        if isinstance(value, str) and "\x00" in value
    ]


class NotFound(LedgerError):
    """A referenced record (tool, drawdown, bank, enterprise) does not exist."""


class RuleViolation(LedgerError):
    """The input is well formed but the ledger's rules forbid it (closed month, already reversed …)."""


class PermissionDenied(LedgerError):
    """The acting user's role does not allow the action."""
