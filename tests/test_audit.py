"""The audit chain: every write recorded, and any edit behind the ledger's back found by `verify`."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from ledger.facade import Ledger
from tests.factories import add_borrower, relending, setup_bank


@pytest.fixture
def busy(ledger: Ledger) -> Ledger:
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    first = ledger.book(relending(firm, ext_ref="1")).id
    ledger.book(relending(firm, ext_ref="2"))
    ledger.repay(first, "2023-05-01", "10.00")
    ledger.close_month("2023-01")
    return ledger


def _drop_guards(ledger: Ledger, table: str) -> None:
    with ledger.transaction() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            conn.execute(text(f"DROP TRIGGER trg_{table}_no_update"))
            conn.execute(text(f"DROP TRIGGER trg_{table}_no_delete"))


def test_every_write_is_recorded_with_who(busy: Ledger) -> None:
    rows = busy.sql("SELECT action, entity, actor FROM audit_log ORDER BY id").rows
    actions = [r[0] for r in rows]
    assert {"create", "add_status", "book", "repay", "close"} <= set(actions)
    # after the ledger's creation (mode, policy, catalogue), every record names the authenticated acting user
    assert {r[2] for r in rows if r[1] not in ("ledger", "policy", "tool")} == {busy.actor}
    assert busy.verify_audit().ok


def test_an_edited_drawdown_is_caught(busy: Ledger) -> None:
    _drop_guards(busy, "drawdown")
    with busy.transaction() as conn:
        conn.execute(text("UPDATE drawdown SET amount_fen = amount_fen + 1 WHERE id = 2"))
    result = busy.verify_audit()
    assert not result.ok and "book" in result.problem and result.bad_record is not None


def test_a_deleted_event_is_caught(busy: Ledger) -> None:
    _drop_guards(busy, "drawdown_event")
    with busy.transaction() as conn:
        conn.execute(text("DELETE FROM drawdown_event"))
    assert not busy.verify_audit().ok


def test_an_edited_audit_payload_or_deleted_record_is_caught(busy: Ledger) -> None:
    _drop_guards(busy, "audit_log")
    with busy.transaction() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    result = busy.verify_audit()
    assert not result.ok and result.bad_record == 3


def test_a_renamed_enterprise_outside_the_ledger_is_caught(busy: Ledger) -> None:
    with busy.transaction() as conn:
        conn.execute(text("UPDATE enterprise SET name = '假名公司'"))
    assert "enterprise" in busy.verify_audit().problem
    # …while a rename through the ledger is audited and verifies
    with busy.transaction() as conn:
        conn.execute(text("UPDATE enterprise SET name = '北京测试企业1有限公司'"))
    code = busy.sql("SELECT uscc FROM enterprise").rows[0][0]
    busy.update_enterprise(code, "北京新名称科技有限公司", "C3911", "small")
    assert busy.verify_audit().ok


def test_cli_verify_exit_codes(busy: Ledger) -> None:
    from ledger.cli.main import main

    assert main(["--db", busy.url, "audit", "verify"]) == 0
    _drop_guards(busy, "drawdown")
    with busy.transaction() as conn:
        conn.execute(text("UPDATE drawdown SET key_area = NOT key_area WHERE id = 1"))
    assert main(["--db", busy.url, "audit", "verify"]) == 1
