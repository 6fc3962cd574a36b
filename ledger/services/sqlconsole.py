"""Read-only SQL for auditors: a read-only transaction (PostgreSQL) or a read-only file handle (SQLite).

The database refuses writes; the statement check here only gives a clearer message first and stops a second
statement from ending the read-only transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ledger.db.engine import streamed
from ledger.domain.errors import LedgerError

_WRITE = re.compile(
    r"^\s*(insert|update|delete|drop|create|alter|truncate|grant|revoke|replace|vacuum|attach|detach|pragma|reindex|"
    r"comment|copy|lock|set|reset|begin|commit|rollback|savepoint|release|call|do|analyze|cluster|refresh)\b",
    re.IGNORECASE,
)


class ReadOnlyViolation(LedgerError):
    """A statement tried to change the database through the read-only console."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows than the cap exist


def check_statement(sql: str) -> str:
    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise LedgerError("SQL为空 (empty query)")
    if ";" in _strip_literals(statement):
        raise ReadOnlyViolation("一次只能执行一条语句 (one statement at a time)")
    if _WRITE.match(statement):
        raise ReadOnlyViolation(f"只读控制台不允许写操作 (read-only: {statement.split()[0].upper()} refused)")
    return statement


def _strip_literals(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def run_query(engine: Engine, sql: str, limit: int | None = 500) -> QueryResult:
    """`engine` should be the read-only engine; on PostgreSQL the transaction is READ ONLY as well."""
    statement = check_statement(sql)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            result = conn.execute(text(statement))
            if not result.returns_rows:
                raise ReadOnlyViolation("语句未返回结果 (not a query)")
            columns = list(result.keys())
            if limit is None:
                rows = [tuple(r) for r in result]
                truncated = False
            else:
                fetched = result.fetchmany(limit + 1)
                truncated = len(fetched) > limit
                rows = [tuple(r) for r in fetched[:limit]]
            conn.rollback()
            return QueryResult(columns, rows, truncated)
    except DBAPIError as exc:
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if "read-only" in message or "readonly" in message:
            raise ReadOnlyViolation(f"只读:写操作被拒绝 ({message})") from None
        raise LedgerError(f"SQL错误: {message}") from None


def stream_query(engine: Engine, sql: str):  # type: ignore[no-untyped-def]
    """Yields the header then every row, for CSV export of results larger than the on-screen cap."""
    statement = check_statement(sql)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        result = streamed(conn, 2000, text(statement))
        yield list(result.keys())
        for row in result:
            yield tuple(row)
