"""Roles: each user does only their part, refusals are clear and audited, auditors cannot write by any route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.cli.main import main
from ledger.domain.errors import LedgerError, PermissionDenied, ValidationError
from ledger.facade import Ledger
from ledger.services.users import AUDITOR_DB_ROLE
from tests.factories import add_borrower, relending, setup_bank, uscc


def _as(ledger: Ledger, actor: str) -> Ledger:
    return Ledger(ledger.url, actor=actor, config=ledger.config)


@pytest.fixture
def staffed(ledger: Ledger) -> Ledger:
    """Reference data made in bootstrap mode, then one user per role (added by the admin)."""
    setup_bank(ledger)
    add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    ledger.add_user("root", "admin")
    root = _as(ledger, "root")
    for name, role in (("olga", "operator"), ("chen", "checker"), ("aud", "auditor")):
        root.add_user(name, role)
    return ledger


def _refusals(ledger: Ledger) -> list[tuple[str, str]]:
    rows = ledger.sql("SELECT actor, entity_id FROM audit_log WHERE action = 'refused' ORDER BY id").rows
    return [(r[0], r[1]) for r in rows]


def _drawdowns(ledger: Ledger) -> int:
    return int(ledger.sql("SELECT COUNT(*) FROM drawdown").rows[0][0])


def test_without_users_everyone_may_do_everything(ledger: Ledger) -> None:
    setup_bank(ledger)
    firm = add_borrower(ledger, 1)
    assert ledger.list_users() == []
    _as(ledger, "anyone").book(relending(firm))
    _as(ledger, "someone-else").close_month("2022-12")
    assert _refusals(ledger) == []


def test_the_first_user_must_be_an_admin_and_the_last_admin_stays(ledger: Ledger) -> None:
    with pytest.raises(ValidationError, match="管理员"):
        ledger.add_user("olga", "operator")
    ledger.add_user("root", "admin")
    root = _as(ledger, "root")
    with pytest.raises(ValidationError, match="最后一个管理员"):
        root.add_user("root", "operator")
    with pytest.raises(ValidationError, match="最后一个管理员"):
        root.disable_user("root")
    with pytest.raises(ValidationError, match="角色"):
        root.add_user("x", "superuser")
    assert [(u.name, u.role, u.active) for u in root.list_users()] == [("root", "admin", True)]


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [("olga", {"book", "event"}), ("chen", set()), ("aud", set()), ("root", {"reference", "close"})],
)
def test_each_role_does_only_its_part(staffed: Ledger, actor: str, allowed: set[str]) -> None:
    me = _as(staffed, actor)
    attempts: dict[str, Callable[[], object]] = {
        "book": lambda: me.book(relending(uscc(1), ext_ref=f"by-{actor}")),
        "reference": lambda: me.add_institution(f"B-{actor}", "某银行"),
        "close": lambda: me.close_month("2022-11"),
    }
    for action, attempt in attempts.items():
        if action in allowed:
            attempt()
        else:
            with pytest.raises(PermissionDenied, match=actor):
                attempt()
    if "book" in allowed:
        booked = _drawdowns(staffed)
        me.repay(1, "2023-04-01", "1.00")
        assert _drawdowns(staffed) == booked
    refused = {action for who, action in _refusals(staffed) if who == actor}
    assert refused == set(attempts) - allowed
    assert staffed.verify_audit().ok


def test_unknown_and_disabled_users_are_refused(staffed: Ledger) -> None:
    with pytest.raises(PermissionDenied, match="未登记"):
        _as(staffed, "mallory").book(relending(uscc(1)))
    _as(staffed, "root").disable_user("olga")
    with pytest.raises(PermissionDenied, match="已停用"):
        _as(staffed, "olga").book(relending(uscc(1)))
    assert _drawdowns(staffed) == 0
    assert [who for who, _ in _refusals(staffed)] == ["mallory", "olga"]


def test_only_admins_manage_users(staffed: Ledger) -> None:
    with pytest.raises(PermissionDenied):
        _as(staffed, "olga").add_user("olga", "admin")  # no promoting yourself
    assert {u.name: u.role for u in staffed.list_users()}["olga"] == "operator"


def test_refusal_on_the_command_line_is_one_clear_line(
    staffed: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--db", staffed.url, "--user", "aud", "close", "--month", "2022-10"])
    err = capsys.readouterr().err
    assert code == 1 and "无权" in err and "Traceback" not in err
    assert main(["--db", staffed.url, "--user", "root", "user", "add", "zoe", "--role", "checker"]) == 0
    assert main(["--db", staffed.url, "--user", "zoe", "user", "list", "--json"]) == 0
    assert '"zoe"' in capsys.readouterr().out


WRITES = (
    "INSERT INTO institution (code, name, type) VALUES ('EVIL', 'x', '')",
    "UPDATE institution SET name = 'x'",
    "DELETE FROM app_user",
    "DROP TABLE pending_command",
    "CREATE TABLE evil (x int)",
    "WITH gone AS (DELETE FROM app_user RETURNING *) SELECT * FROM gone",
    "SELECT 1; DELETE FROM app_user",
    "  /* hidden */ delete from institution",
)


@pytest.mark.parametrize("statement", WRITES)
def test_the_sql_console_refuses_every_write(staffed: Ledger, statement: str) -> None:
    before = staffed.sql(
        "SELECT (SELECT COUNT(*) FROM institution), (SELECT COUNT(*) FROM app_user), "
        "(SELECT COUNT(*) FROM audit_log)"
    ).rows
    with pytest.raises(LedgerError):
        staffed.sql(statement)
    after = staffed.sql(
        "SELECT (SELECT COUNT(*) FROM institution), (SELECT COUNT(*) FROM app_user), "
        "(SELECT COUNT(*) FROM audit_log)"
    ).rows
    assert after == before
    assert staffed.sql("SELECT name FROM institution").rows == [("北京银行",)]
    assert staffed.verify_audit().ok


def test_auditor_database_access_is_read_only(staffed: Ledger) -> None:
    """PostgreSQL: `ledger init` made a SELECT-only role; SQLite: the console's handle is opened read-only."""
    if staffed.engine.dialect.name == "postgresql":
        with staffed.engine.connect() as conn:
            conn.execute(text(f"SET ROLE {AUDITOR_DB_ROLE}"))
            assert conn.execute(text("SELECT COUNT(*) FROM v_drawdown")).scalar_one() == 0
            assert conn.execute(text("SELECT COUNT(*) FROM app_user")).scalar_one() == 4
            with pytest.raises(DBAPIError, match="permission denied"):
                conn.execute(text("INSERT INTO institution (code, name, type) VALUES ('E', 'x', '')"))
            conn.rollback()
    else:
        with staffed.read_only_engine.connect() as conn, pytest.raises(DBAPIError, match="readonly"):
            conn.execute(text("INSERT INTO institution (code, name, type) VALUES ('E', 'x', '')"))
    assert staffed.sql("SELECT COUNT(*) FROM institution").rows == [(1,)]


def test_authorize_serves_writers_with_their_own_transaction(staffed: Ledger) -> None:
    _as(staffed, "olga").authorize("import", "in.csv")
    with pytest.raises(PermissionDenied, match="导入"):
        _as(staffed, "aud").authorize("import", "in.csv")
    assert _refusals(staffed) == [("aud", "import")]
