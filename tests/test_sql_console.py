"""The auditors' console is read-only because the database says so, on both backends: every trick of comments and
quoting, tried as a write, a second statement and a server-side function, leaves the ledger as it was; a query
stops at its time limit; results are capped and say so; the documented views answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ledger.cli.main import main
from ledger.domain.errors import LedgerError
from ledger.facade import Ledger
from ledger.services.sqlconsole import QueryTimeout, ReadOnlyViolation
from tests.conftest import PG_ADMIN_URL, is_pg, staff

INFINITE = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "


@pytest.fixture
def demo(ledger: Ledger) -> Ledger:
    ledger.load_demo(300, year=2024, seed=7)
    return ledger


def _state(ledger: Ledger) -> tuple[object, ...]:
    with ledger.connect() as conn:
        counts = tuple(
            conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in (
                "drawdown",
                "drawdown_event",
                "audit_log",
                "app_user",
                "enterprise",
                "month_close",
                "policy",
            )
        )
        tables = conn.execute(
            text(
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                if is_pg(ledger.url)
                else "SELECT COUNT(*) FROM sqlite_master"
            )
        ).scalar_one()
        users = conn.execute(text("SELECT name, role FROM app_user ORDER BY name")).all()
    return (*counts, tables, tuple(map(tuple, users)))


# Writes, second statements and server-side functions hidden by every kind of comment and quoting either backend
# knows: line and block comments, nested block comments, dollar quoting, E'' strings, quoted identifiers.
def attacks(canary: Path) -> list[str]:
    c = str(canary)
    return [
        # the finding: a quote inside a line comment hid the second statement from the old checker
        "SELECT 1 -- '\n; COMMIT; CREATE TABLE proof(a int); SELECT 'x' --'",
        "SELECT 1 -- '\n; DELETE FROM drawdown",
        "SELECT 1 /* ' */; DELETE FROM drawdown",
        "SELECT 1 /* /* nested */ ; */ ; DELETE FROM drawdown",
        "SELECT 1 /* /* nested ' */ */ ; DELETE FROM audit_log",
        "SELECT $$;$$; DELETE FROM drawdown",
        "SELECT $tag$ ' ; $tag$; UPDATE app_user SET role = 'admin'",
        "SELECT E'\\';'; DELETE FROM drawdown",
        "SELECT E'\\\\'; DELETE FROM drawdown; --'",
        'SELECT 1 AS ";"; DELETE FROM drawdown',
        'SELECT 1 AS "a"";"; DELETE FROM drawdown',
        "SELECT '';DELETE FROM drawdown;--'",
        "/**/DELETE FROM drawdown",
        "--x\nDELETE FROM drawdown",
        "/* SELECT */ UPDATE app_user SET role = 'admin'",
        "WITH x AS (DELETE FROM drawdown RETURNING id) SELECT * FROM x",
        "WITH x AS (UPDATE app_user SET role = 'admin' RETURNING name) SELECT * FROM x",
        "INSERT INTO month_close (month, audit_id) VALUES ('2024-01', 1)",
        "REPLACE INTO month_close (month, audit_id) VALUES ('2024-01', 1)",
        "DROP TABLE drawdown",
        "ALTER TABLE drawdown DISABLE TRIGGER USER",
        "TRUNCATE drawdown",
        "SELECT * FROM drawdown FOR UPDATE",
        "VALUES (1); DELETE FROM drawdown",
        "TABLE drawdown; DELETE FROM drawdown",
        "COMMIT",
        "ROLLBACK; DELETE FROM drawdown",
        "BEGIN; DELETE FROM drawdown; COMMIT",
        "BEGIN IMMEDIATE",
        "SAVEPOINT a",
        "CREATE TABLE proof (a int)",
        "CREATE TEMP TABLE proof (a int)",
        "CREATE TEMP VIEW proof AS SELECT 1",
        "SELECT 1 INTO TEMP proof",
        "SELECT * INTO proof FROM drawdown",
        # role and setting escapes
        "SET ROLE postgres",
        "RESET ROLE",
        "SET SESSION AUTHORIZATION postgres",
        "SET transaction_read_only = off",
        "SELECT set_config('role', 'postgres', true), current_user",
        "SELECT set_config('role', 'none', false)",
        "SELECT set_config('transaction_read_only', 'off', true)",
        "SELECT set_config('statement_timeout', '0', false)",
        "SELECT set_config('session_authorization', 'postgres', false)",
        "SELECT set_config('role', 'postgres', true), pg_terminate_backend(pg_backend_pid())",
        "SELECT query_to_xml('select set_config(''role'',''postgres'',true)', true, true, '')",
        "SELECT query_to_xml('DELETE FROM drawdown RETURNING 1', true, true, '')",
        "DO $$ BEGIN RESET ROLE; DELETE FROM drawdown; END $$",
        "DO $x$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch " + c + "'''; END $x$",
        "CALL ledger_provision_login('intruder', 'ledger_admin')",
        "SELECT ledger_provision_login('intruder', 'ledger_admin')",
        "EXPLAIN ANALYZE DELETE FROM drawdown",
        # the server and the machine
        f"/**/COPY (SELECT 1) TO PROGRAM 'touch {c}'",
        f"COPY (SELECT 1) TO '{c}'",
        "COPY drawdown FROM '/etc/hostname'",
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT pg_read_binary_file('/etc/hostname')",
        "SELECT pg_ls_dir('.')",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity",
        "SELECT pg_reload_conf()",
        "SELECT lo_import('/etc/hostname')",
        f"SELECT lo_export(0, '{c}')",
        "SELECT lo_create(0)",
        "SELECT lo_from_bytea(0, 'x')",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_advisory_xact_lock(1)",
        "SELECT pg_try_advisory_lock(1)",
        "SELECT * FROM dblink('dbname=test', 'DELETE FROM drawdown') AS t(a int)",
        "SELECT nextval('drawdown_id_seq')",
        "SELECT setval('drawdown_id_seq', 1)",
        # SQLite's own doors
        f"ATTACH '{c}' AS other",
        f"VACUUM INTO '{c}'",
        "VACUUM",
        "DETACH main",
        "PRAGMA writable_schema = 1",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA query_only = 0",
        "PRAGMA foreign_keys = OFF",
        "SELECT load_extension('libevil')",
        f"SELECT writefile('{c}', 'x')",
        "SELECT readfile('/etc/hostname')",
        "SELECT fts3_tokenizer('simple')",
        "SELECT zeroblob(1000000000)",
        "SELECT randomblob(1000000000)",
        "ANALYZE",
        "REINDEX",
    ]


def test_every_trick_is_refused_and_changes_nothing(demo: Ledger, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    before = _state(demo)
    for statement in attacks(canary):
        with pytest.raises(LedgerError) as refused:
            demo.sql(statement, timeout=10)
        assert str(refused.value), statement
        assert _state(demo) == before, statement
        assert not canary.exists(), statement
    assert demo.verify_audit().ok


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1 -- '\n; COMMIT; CREATE TABLE proof(a int); SELECT 'x' --'",
        "/**/COPY (SELECT 1) TO PROGRAM 'id'",
        "SELECT pg_read_file('/etc/hostname')",
        "DELETE FROM drawdown",
        "PRAGMA writable_schema = 1",
    ],
)
def test_the_command_line_says_refused_with_exit_1(
    demo: Ledger, statement: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _state(demo)
    assert main(["--db", demo.url, "sql", statement]) == 1
    err = capsys.readouterr().err
    assert ("read-only" in err or "one statement" in err or "SQL" in err) and "Traceback" not in err
    assert _state(demo) == before


def test_a_lone_role_change_does_not_carry_over_to_the_next_call(demo: Ledger) -> None:
    for statement in ("RESET ROLE", "SET ROLE postgres", "SET SESSION AUTHORIZATION DEFAULT"):
        with pytest.raises(LedgerError):
            demo.sql(statement)
        if is_pg(demo.url):
            assert demo.sql("SELECT current_user").rows == [("ledger_console",)]
        with pytest.raises(ReadOnlyViolation):
            demo.sql("DELETE FROM drawdown")


def test_an_infinite_recursion_stops_at_the_time_limit(demo: Ledger) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="time limit"):
        demo.sql(INFINITE + "SELECT COUNT(*) FROM r /* t2-marker */", timeout=1)
    assert time.monotonic() - started < 15
    if is_pg(demo.url):  # nothing of it keeps running on the server once the call has returned
        admin = create_engine(PG_ADMIN_URL)
        with admin.connect() as conn:
            running = conn.execute(
                text(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE '%t2-marker%' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            locks = conn.execute(
                text("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'")
            ).scalar_one()
        admin.dispose()
        assert running == 0 and locks == 0


def test_a_cartesian_product_is_capped_not_loaded(demo: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    huge = "SELECT a.id, b.id, c.id FROM drawdown a, drawdown b, drawdown c"
    assert main(["--db", demo.url, "sql", huge, "--format", "json", "--timeout", "20"]) == 0
    out = capsys.readouterr()
    assert len(json.loads(out.out)) == 500
    assert "500 of more than 500" in out.err
    assert main(["--db", demo.url, "sql", huge]) == 0
    assert "500 of more than 500" in capsys.readouterr().out


def test_every_row_only_when_streaming_csv_to_a_file(
    demo: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "SELECT a.id, b.amount_fen FROM drawdown a, drawdown b WHERE a.id <= 5 ORDER BY a.id, b.id"
    assert main(["--db", demo.url, "sql", query, "--limit", "0"]) == 1
    assert "--limit" in capsys.readouterr().err
    out = tmp_path / "all.csv"
    assert main(["--db", demo.url, "sql", query, "--format", "csv", "--limit", "0", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 5 * demo.sql("SELECT COUNT(*) FROM drawdown").rows[0][0] > 501
    assert main(["--db", demo.url, "sql", query, "--format", "csv", "--limit", "0", "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err


def test_results_are_capped_and_say_so(demo: Ledger) -> None:
    result = demo.sql("SELECT drawdown_id FROM v_drawdown ORDER BY drawdown_id", limit=100)
    assert len(result.rows) == 100 and result.truncated
    assert not demo.sql("SELECT COUNT(*) FROM v_drawdown").truncated
    endless = demo.sql(INFINITE + "SELECT n FROM r", limit=500, timeout=10)
    assert len(endless.rows) == 500 and endless.truncated


def test_reading_is_not_hindered(demo: Ledger) -> None:
    """Comments, quoting and ordinary functions in a plain query work on both backends."""
    rows = demo.sql(
        "/* block */ SELECT 'it''s' AS \"quoted id\", LOWER('A'), COUNT(*), SUM(amount_fen) -- tail\n"
        "FROM drawdown WHERE tool_code <> ';' GROUP BY 1, 2;"
    ).rows
    assert rows[0][0] == "it's" and rows[0][1] == "a" and rows[0][2] > 0


def test_the_drawdown_view_agrees_with_the_base_tables_to_the_fen(demo: Ledger) -> None:
    view = demo.sql("SELECT SUM(amount_fen), COUNT(*) FROM v_drawdown").rows[0]
    base = demo.sql("SELECT SUM(amount_fen), COUNT(*) FROM drawdown").rows[0]
    assert tuple(view) == tuple(base)
    live = demo.sql("SELECT SUM(total_fen) FROM v_share_by_year").rows[0][0]
    reversed_ = demo.sql(
        "SELECT COALESCE(SUM(d.amount_fen), 0) FROM drawdown d JOIN drawdown_event e "
        "ON e.drawdown_id = d.id AND e.kind = 'reversal'"
    ).rows[0][0]
    assert int(live) + int(reversed_) == int(base[0])


def test_bad_sql_is_a_clear_error(demo: Ledger) -> None:
    with pytest.raises(LedgerError, match="SQL"):
        demo.sql("SELECT no_such_column FROM drawdown")
    with pytest.raises(LedgerError, match="empty"):
        demo.sql(" ; ")


def test_without_the_console_role_the_console_refuses_and_names_the_fix(ledger: Ledger) -> None:
    if not is_pg(ledger.url):
        pytest.skip("PostgreSQL: the console's role")
    with ledger.transaction() as conn:
        conn.execute(text("GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) TO PUBLIC"))
    try:
        with pytest.raises(ReadOnlyViolation, match="ledger init"):
            ledger.sql("SELECT 1")
    finally:
        ledger.init()
    assert ledger.sql("SELECT 1").rows == [(1,)]


def test_staff_logins_use_the_console_and_cannot_write_through_it(demo: Ledger) -> None:
    """PostgreSQL: an auditor's and an operator's own logins reach the console's role (through their group); on
    SQLite the same people are names in a training ledger. Neither can write through it."""
    people = staff(demo, aud="auditor", olga="operator")
    before = _state(demo)
    for person in (people["aud"], people["olga"]):
        assert person.sql("SELECT COUNT(*) FROM drawdown").rows == [(before[0],)]
        if is_pg(demo.url):
            assert person.sql("SELECT current_user").rows == [("ledger_console",)]
        for statement in ("DELETE FROM drawdown", "SELECT set_config('role', 'ledger_operator', true)"):
            with pytest.raises(LedgerError):
                person.sql(statement)
        person.dispose()
    after = _state(demo)
    assert after[:2] == before[:2] and demo.verify_audit().ok
