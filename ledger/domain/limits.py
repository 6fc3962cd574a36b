"""Input bounds, one place for every face (command line, TUI, import): longest text per field, the date range.

A value over its limit is an error naming the field and the limit — never cut short: two references that share
their first 60 characters are different references, and cutting them made the second look "already there".
The limits are the database columns' own lengths (ledger.db.models), so what passes here also fits there.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.domain.errors import FieldProblem

# Longest text, in characters, per field a user types or a file holds (docs/import.md lists them).
TEXT_LIMITS: dict[str, int] = {
    "ext_ref": 60,
    "ref": 60,
    "batch_ref": 60,
    "override_reason": 500,
    "bill_range": 30,
    "institution_code": 40,
    "institution_name": 200,
    "institution_type": 40,
    "enterprise_name": 200,
    "status": 40,
    "source": 200,
}


def length_problems(
    fields: Mapping[str, object], limits: Mapping[str, int] = TEXT_LIMITS
) -> list[FieldProblem]:
    """A problem for every text field longer than its limit (surrounding white space is not counted)."""
    problems = []
    for name, value in fields.items():
        limit = limits.get(name)
        if limit is not None and isinstance(value, str) and len(value.strip()) > limit:
            problems.append(
                FieldProblem(
                    name,
                    value,
                    f"长度 {len(value.strip())} 超过上限 {limit} 个字符 (longer than {limit} characters; "
                    "not shortened)",
                )
            )
    return problems
