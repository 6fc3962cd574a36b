"""Roles: each user does only their part, refusals are clear and audited, auditors cannot write by any route.

Users are authenticated identities: on PostgreSQL each person is a login provisioned by `ledger user add` (the
`staff` helper), on SQLite the training-mode template lets a test name them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.cli.main import main
from ledger.domain.errors import LedgerError, PermissionDenied, ValidationError
from ledger.facade import Ledger
from tests.conftest import PG_SUFFIX, is_pg, login_url, staff
from tests.factories import add_borrower, relending, setup_bank, uscc

People = dict[str, Ledger]


@pytest.fixture
def staffed(ledger: Ledger) -> Iterator[tuple[Ledger, People]]:
    """Reference data made in bootstrap mode, then one user per role (added by the admin)."""
    setup_bank(ledger)
    add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    people = staff(ledger, olga="operator", chen="checker", aud="auditor")
    people["root"] = people.pop("admin")
    yield ledger, people
    for person in people.values():
        person.dispose()


def _refusals(ledger: Ledger) -> list[tuple[str, str]]:
    rows = ledger.sql("SELECT actor, entity_id FROM audit_log WHERE action = 'refused' ORDER BY id").rows
    return [(r[0], r[1]) for r in rows]


def _drawdowns(ledger: Ledger) -> int:
    return int(ledger.sql("SELECT COUNT(*) FROM drawdown").rows[0][0])


def test_without_users_everyone_may_do_everything(ledger: Ledger) -> None:
    setup_bank(ledger)
    firm = add_borrower(ledger, 1)
    assert ledger.list_users() == []
    ledger.book(relending(firm))
    ledger.close_month("2022-12")
    assert _refusals(ledger) == []


def test_the_first_user_must_be_an_admin_and_the_last_admin_stays(ledger: Ledger) -> None:
    name = f"root_{PG_SUFFIX}" if is_pg(ledger.url) else "root"
    with pytest.raises(ValidationError, match="管理员"):
        ledger.add_user(name, "operator")
    people = staff(ledger)
    root = people["admin"]
    with pytest.raises(ValidationError, match="最后一个管理员"):
        root.add_user(root.actor, "operator")
    with pytest.raises(ValidationError, match="最后一个管理员"):
        root.disable_user(root.actor)
    with pytest.raises(ValidationError, match="角色"):
        root.add_user("x", "superuser")
    assert [(u.name, u.role, u.active) for u in root.list_users()] == [(root.actor, "admin", True)]
    root.dispose()


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("olga", {"book", "event"}), ("chen", set()), ("aud", set()), ("root", {"reference", "close"})],
)
def test_each_role_does_only_its_part(staffed: tuple[Ledger, People], who: str, allowed: set[str]) -> None:
    base, people = staffed
    me = people[who]
    attempts: dict[str, Callable[[], object]] = {
        "book": lambda: me.book(relending(uscc(1), ext_ref=f"by-{who}")),
        "reference": lambda: me.add_institution(f"B-{who}", "某银行"),
        "close": lambda: me.close_month("2022-11"),
    }
    for action, attempt in attempts.items():
        if action in allowed:
            attempt()
        else:
            with pytest.raises(PermissionDenied, match=me.actor):
                attempt()
    if "book" in allowed:
        booked = _drawdowns(base)
        me.repay(1, "2023-04-01", "1.00")
        assert _drawdowns(base) == booked
    refused = {action for actor, action in _refusals(base) if actor == me.actor}
    # A read-only login's refusal cannot be written by it: the database refuses that login's writes outright.
    expected = set() if who == "aud" and is_pg(base.url) else set(attempts) - allowed
    assert refused == expected
    assert base.verify_audit().ok


def test_unknown_and_disabled_users_are_refused(staffed: tuple[Ledger, People], db_url: str) -> None:
    base, people = staffed
    if is_pg(db_url):
        # A login the DBA gave the operator group by hand, never registered in the ledger.
        mallory_name = f"mallory_{PG_SUFFIX}"
        with base.transaction() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{mallory_name}"'))
            conn.execute(text(f'CREATE ROLE "{mallory_name}" LOGIN IN ROLE ledger_operator'))
        mallory = Ledger(login_url(db_url, mallory_name))
    else:
        mallory = Ledger(db_url, actor="mallory")
    with pytest.raises(PermissionDenied, match="未登记"):
        mallory.book(relending(uscc(1)))
    people["root"].disable_user(people["olga"].actor)
    olga = people["olga"]
    if is_pg(db_url):  # the login lost its database grants with its ledger role: a refusal, not a crash
        with pytest.raises(PermissionDenied, match="permission denied"):
            olga.book(relending(uscc(1)))
    else:
        with pytest.raises(PermissionDenied, match="已停用"):
            olga.book(relending(uscc(1)))
    assert _drawdowns(base) == 0
    expected = [mallory.actor] if is_pg(db_url) else [mallory.actor, olga.actor]
    assert [who for who, _ in _refusals(base)] == expected
    mallory.dispose()


def test_only_admins_manage_users(staffed: tuple[Ledger, People]) -> None:
    base, people = staffed
    olga = people["olga"]
    with pytest.raises(PermissionDenied):
        olga.add_user(olga.actor, "admin")  # no promoting yourself
    assert {u.name: u.role for u in base.list_users()}[olga.actor] == "operator"


def test_refusal_on_the_command_line_is_one_clear_line(
    staffed: tuple[Ledger, People], capsys: pytest.CaptureFixture[str]
) -> None:
    base, people = staffed
    olga, root = people["olga"], people["root"]

    def run(person: Ledger, *argv: str) -> int:
        if is_pg(base.url):
            return main(["--db", person.url, *argv])
        return main(["--db", base.url, "--user", person.actor, *argv])

    code = run(olga, "close", "--month", "2022-10")
    err = capsys.readouterr().err
    assert code == 1 and "无权" in err and "Traceback" not in err
    zoe = f"zoe_{PG_SUFFIX}" if is_pg(base.url) else "zoe"
    assert run(root, "user", "add", zoe, "--role", "checker") == 0
    assert run(olga, "user", "list", "--json") == 0
    assert f'"{zoe}"' in capsys.readouterr().out


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
def test_the_sql_console_refuses_every_write(staffed: tuple[Ledger, People], statement: str) -> None:
    base, _people = staffed
    count = (
        "SELECT (SELECT COUNT(*) FROM institution), (SELECT COUNT(*) FROM app_user), "
        "(SELECT COUNT(*) FROM audit_log)"
    )
    before = base.sql(count).rows
    with pytest.raises(LedgerError):
        base.sql(statement)
    assert base.sql(count).rows == before
    assert base.sql("SELECT name FROM institution").rows == [("北京银行",)]
    assert base.verify_audit().ok


def test_an_auditors_login_cannot_write_at_the_database_level(staffed: tuple[Ledger, People]) -> None:
    """PostgreSQL: the auditor's own login, whatever client it uses, is refused by the database; SQLite: the
    console's handle is opened read-only."""
    base, people = staffed
    if is_pg(base.url):
        aud = people["aud"]
        with aud.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM app_user")).scalar_one() == 4
            for statement in (
                "INSERT INTO institution (code, name, type) VALUES ('E', 'x', '')",
                "UPDATE app_user SET role = 'admin'",
                "DELETE FROM pending_command",
                "SELECT id FROM ledger_lock FOR UPDATE",
            ):
                with pytest.raises(DBAPIError, match="permission denied"):
                    conn.execute(text(statement))
                conn.rollback()
    else:
        with base.read_only_engine.connect() as conn, pytest.raises(DBAPIError, match="readonly"):
            conn.execute(text("INSERT INTO institution (code, name, type) VALUES ('E', 'x', '')"))
    assert base.sql("SELECT COUNT(*) FROM institution").rows == [(1,)]


def test_an_operators_login_cannot_promote_itself_at_the_database_level(
    staffed: tuple[Ledger, People],
) -> None:
    base, people = staffed
    olga = people["olga"]
    if not is_pg(
        base.url
    ):  # one OS account owns the file: the database cannot refuse, the chain names the edit
        with base.transaction() as conn:
            conn.execute(text("UPDATE app_user SET role = 'admin' WHERE name = :n"), {"n": olga.actor})
        result = base.verify_audit()
        assert not result.ok and "app_user" in result.problem and "role" in result.problem
        return
    with olga.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("UPDATE app_user SET role = 'admin' WHERE name = :n"), {"n": olga.actor})
        conn.rollback()
        with pytest.raises(DBAPIError, match=r"permission denied|privileged|reserved"):
            conn.execute(text("SELECT ledger_provision_login(:n, 'ledger_admin')"), {"n": olga.actor})
        conn.rollback()
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("DELETE FROM audit_log"))
        conn.rollback()
        with pytest.raises(DBAPIError, match=r"must be owner|permission denied"):
            conn.execute(text("ALTER TABLE drawdown DISABLE TRIGGER USER"))
        conn.rollback()


def test_authorize_serves_writers_with_their_own_transaction(staffed: tuple[Ledger, People]) -> None:
    base, people = staffed
    people["olga"].authorize("import", "in.csv")
    with pytest.raises(PermissionDenied, match="导入"):
        people["chen"].authorize("import", "in.csv")
    assert _refusals(base) == [(people["chen"].actor, "import")]
