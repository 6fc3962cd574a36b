"""Read-only SQL for auditors, enforced by the database, not by reading the statement.

SQLite: a fresh `mode=ro` handle per call with an authorizer (`sqlite3.Connection.set_authorizer`) that allows
only reading tables and views, recursive CTEs and a list of pure functions — no ATTACH (nor VACUUM INTO, which
attaches), no PRAGMA but a few read-only ones, no transaction control, no load_extension or randomblob/zeroblob;
a progress handler stops the statement at the time limit, and no value may exceed `MAX_VALUE_BYTES`. pysqlite
runs one statement per `execute` ("You can only execute one statement at a time").

PostgreSQL: a connection of its own per call (closed afterwards, so nothing a statement leaves behind in the session
— an advisory lock, a setting — outlives the call), `BEGIN READ ONLY` with local `statement_timeout`,
`lock_timeout` and `idle_in_transaction_session_timeout`, then `SET LOCAL ROLE ledger_console`
(ledger.services.console_role: SELECT on the ledger's tables and views and nothing else; it may not call
`set_config`, so a statement cannot switch back to the login's own role or lift the time limit half-way). The
user's text is sent as `DECLARE … CURSOR FOR <text>` through the extended query protocol: the server refuses a
second statement in it, and DECLARE takes only a query (SELECT, WITH, VALUES, TABLE) — no COPY, DO, SET, CALL.
Rows are FETCHed in batches, so a capped result never reads more than cap + 1 rows.

The first word of the statement is looked at only to word an error message better.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ledger.domain.errors import LedgerError

CONSOLE_ROLE = "ledger_console"
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 24 * 3600.0
DEFAULT_ROW_CAP = 500
MAX_ROW_CAP = 100_000  # screen and JSON: beyond that, CSV streamed to a file
MAX_VALUE_BYTES = (
    16 * 1024 * 1024
)  # SQLite: one cell at most 16 MiB (a `printf('%.*c', 1e9, 'x')` is refused)
_BATCH = 2000
_CURSOR = "ledger_console_cursor"

# Pure functions an auditor's query may call on SQLite (aggregates, window, text, number, date and JSON scalars).
SQLITE_FUNCTIONS = frozenset(
    """
    abs avg ceil ceiling char coalesce count cume_dist date datetime dense_rank exp first_value floor format glob
    group_concat hex ifnull iif instr julianday lag last_value lead length like likelihood likely ln log log10 log2
    lower ltrim max min mod nth_value ntile nullif percent_rank pi pow power printf quote rank replace round
    row_number rtrim sign sqrt strftime string_agg substr substring sum time total trim trunc typeof unicode
    unixepoch unlikely upper current_date current_time current_timestamp sqlite_version
    json json_array json_array_length json_extract json_group_array json_group_object json_object json_quote
    json_type json_valid -> ->>
    """.split()  # noqa: SIM905 - a word list reads better than 90 quoted names
)
SQLITE_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "foreign_key_list"})


class ReadOnlyViolation(LedgerError):
    """A statement tried to change the database or reach outside it through the read-only console."""


class QueryTimeout(LedgerError):
    """The statement ran past the console's time limit."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows than the cap exist


def _statement(sql: str) -> str:
    statement = sql.strip()
    while statement.endswith(";"):
        statement = statement[:-1].rstrip()
    if not statement:
        raise LedgerError("SQL为空 (empty query)")
    return statement


def _timeout(timeout: float | None) -> float:
    value = DEFAULT_TIMEOUT_S if timeout is None else float(timeout)
    if not (0 < value <= MAX_TIMEOUT_S):
        raise LedgerError(f"--timeout={timeout}: 须在 0 与 {MAX_TIMEOUT_S:.0f} 秒之间 (seconds, > 0)")
    return value


def run_query(
    engine: Engine, sql: str, limit: int | None = DEFAULT_ROW_CAP, timeout: float | None = None
) -> QueryResult:
    """At most `limit` rows (None: all — for callers that know the result is small) of one read-only query on
    the ledger `engine` (its URL: the SQLite file, or the PostgreSQL login)."""
    if limit is not None and limit < 0:
        raise LedgerError(f"--limit={limit}: 不得为负 (must be >= 0)")
    with _rows(engine, sql, _timeout(timeout)) as (columns, batches):
        rows: list[tuple[Any, ...]] = []
        for batch in batches(None if limit is None else limit + 1):
            rows.extend(batch)
            if limit is not None and len(rows) > limit:
                return QueryResult(columns, rows[:limit], True)
        return QueryResult(columns, rows, False)


def stream_query(
    engine: Engine, sql: str, timeout: float | None = None
) -> Generator[tuple[Any, ...], None, None]:
    """Yields the header then every row (batches of 2,000), for CSV export of results larger than the cap; the
    whole export must finish within the time limit."""
    limit = _timeout(timeout)
    with _rows(engine, sql, limit) as (columns, batches):
        yield tuple(columns)
        for batch in batches(None):
            yield from batch


Batches = Callable[[int | None], Iterator[list[tuple[Any, ...]]]]


@contextmanager
def _rows(engine: Engine, sql: str, timeout: float) -> Iterator[tuple[list[str], Batches]]:
    statement = _statement(sql)
    if engine.dialect.name == "sqlite":
        with _sqlite_rows(str(engine.url.database), statement, timeout) as found:
            yield found
    elif engine.dialect.name == "postgresql":
        with _pg_rows(engine, statement, timeout) as found:
            yield found
    else:  # pragma: no cover - resolve_url admits only the two
        raise LedgerError(f"unsupported backend {engine.dialect.name}")


# -- SQLite ------------------------------------------------------------------------------------------------------
def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in SQLITE_FUNCTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg2 is None and (arg1 or "").lower() in SQLITE_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


@contextmanager
def _sqlite_rows(path: str, statement: str, timeout: float) -> Iterator[tuple[list[str], Batches]]:
    if not path or not Path(path).is_file():
        raise LedgerError(f"台账文件不存在 (no ledger file at {path})")
    deadline = time.monotonic() + timeout
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        conn.set_authorizer(_authorize)
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 2000)
        try:
            cursor = conn.execute(statement)
        except (sqlite3.Error, sqlite3.Warning) as exc:
            raise _sqlite_error(exc, statement, timeout) from None
        if cursor.description is None:
            raise ReadOnlyViolation("语句未返回结果 (not a query)")
        columns = [d[0] for d in cursor.description]

        def batches(first: int | None) -> Iterator[list[tuple[Any, ...]]]:
            size = first or _BATCH
            while True:
                try:
                    batch = [tuple(r) for r in cursor.fetchmany(size)]
                except (sqlite3.Error, sqlite3.Warning) as exc:
                    raise _sqlite_error(exc, statement, timeout) from None
                if not batch:
                    return
                yield batch
                if time.monotonic() > deadline:
                    raise QueryTimeout(_timeout_message(timeout))
                size = _BATCH

        yield columns, batches
    finally:
        conn.close()


def _sqlite_error(exc: Exception, statement: str, timeout: float) -> LedgerError:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "interrupted" in message:
        return QueryTimeout(_timeout_message(timeout))
    if "one statement at a time" in message:
        return ReadOnlyViolation("一次只能执行一条语句 (one statement at a time)")
    if "not authorized" in message or "authorization denied" in message or "readonly" in message:
        return ReadOnlyViolation(_refused(statement, message))
    if "syntax error" in message and not _looks_like_query(statement):
        return ReadOnlyViolation(_refused(statement, message))
    if "too big" in message:
        return LedgerError(f"SQL错误: 单个值超过 {MAX_VALUE_BYTES // 2**20} MiB ({message})")
    return LedgerError(f"SQL错误: {message}")


# -- PostgreSQL --------------------------------------------------------------------------------------------------
@contextmanager
def _pg_rows(engine: Engine, statement: str, timeout: float) -> Iterator[tuple[list[str], Batches]]:
    import psycopg
    from psycopg import errors as pg_errors

    deadline = time.monotonic() + timeout
    millis = max(1, int(timeout * 1000))
    raw = engine.raw_connection()
    try:
        pg: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        if pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            pg.rollback()
        pg.autocommit = True
        pg.execute("BEGIN READ ONLY")
        pg.execute(f"SET LOCAL statement_timeout = {millis}")
        pg.execute(f"SET LOCAL lock_timeout = {min(millis, 5000)}")
        pg.execute(f"SET LOCAL idle_in_transaction_session_timeout = {millis + 60000}")
        _pg_require_role(pg)
        try:
            pg.execute(f"SET LOCAL ROLE {CONSOLE_ROLE}")
        except pg_errors.InsufficientPrivilege:
            raise ReadOnlyViolation(
                f"此登录不能使用只读控制台角色 {CONSOLE_ROLE} (the login is not granted the console role; "
                "`ledger init` grants it to the ledger groups and the schema owner)"
            ) from None
        cursor = pg.cursor()
        try:
            cursor.execute(f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR {statement}", prepare=True)
            cursor.execute(f"FETCH FORWARD 0 FROM {_CURSOR}")
        except psycopg.Error as exc:
            raise _pg_error(exc, statement, timeout) from None
        columns = [d.name for d in cursor.description or ()]

        def batches(first: int | None) -> Iterator[list[tuple[Any, ...]]]:
            size = first or _BATCH
            while True:
                try:
                    cursor.execute(f"FETCH FORWARD {int(size)} FROM {_CURSOR}")
                    batch = [tuple(r) for r in cursor.fetchall()]
                except psycopg.Error as exc:
                    raise _pg_error(exc, statement, timeout) from None
                if not batch:
                    return
                yield batch
                if time.monotonic() > deadline:
                    raise QueryTimeout(_timeout_message(timeout))
                size = _BATCH

        yield columns, batches
    finally:
        raw.invalidate()  # closes the connection: the transaction rolls back and the session ends


def _pg_require_role(pg: Any) -> None:
    """The console role must exist and be locked down in this database (see console_role.ensure_console_role)."""
    row = pg.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s), "
        "CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) "
        "THEN has_function_privilege(%s, 'pg_catalog.set_config(text,text,boolean)', 'EXECUTE') END",
        (CONSOLE_ROLE, CONSOLE_ROLE, CONSOLE_ROLE),
    ).fetchone()
    if not row or not row[0]:
        raise ReadOnlyViolation(
            f"只读控制台角色 {CONSOLE_ROLE} 不存在 (the console's read-only role is missing: run `ledger init`)"
        )
    if row[1]:
        raise ReadOnlyViolation(
            f"只读控制台角色 {CONSOLE_ROLE} 仍可调用 set_config (the console role could leave itself: a superuser "
            "must run `ledger init` once on this database)"
        )


def _pg_error(exc: Exception, statement: str, timeout: float) -> LedgerError:
    from psycopg import errors as pg_errors

    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, pg_errors.QueryCanceled | pg_errors.LockNotAvailable):
        return QueryTimeout(_timeout_message(timeout))
    if "multiple commands" in message:
        return ReadOnlyViolation("一次只能执行一条语句 (one statement at a time)")
    if isinstance(exc, pg_errors.InsufficientPrivilege | pg_errors.ReadOnlySqlTransaction):
        return ReadOnlyViolation(_refused(statement, message))
    if isinstance(exc, pg_errors.FeatureNotSupported) and "data-modifying" in message:
        return ReadOnlyViolation(_refused(statement, message))
    if isinstance(exc, pg_errors.SyntaxError) and not _looks_like_query(statement):
        return ReadOnlyViolation(_refused(statement, message))
    return LedgerError(f"SQL错误: {message}")


# -- messages ----------------------------------------------------------------------------------------------------
_QUERY_START = re.compile(r"^[\s(]*(select|with|values|table)\b", re.IGNORECASE)


def _looks_like_query(statement: str) -> bool:
    return bool(_QUERY_START.match(statement))


def _refused(statement: str, message: str) -> str:
    return (
        "只读控制台只执行一条查询 (read-only console: one query — SELECT, WITH, VALUES or TABLE — on the ledger's "
        f"tables and views; refused: {message})"
    )


def _timeout_message(timeout: float) -> str:
    return f"查询超过时间限制 {timeout:g} 秒 (time limit of {timeout:g} s reached; --timeout to change it)"
