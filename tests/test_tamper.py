"""Tampering: the database refuses edits of ledger tables; an edit with the guards removed is named by verify."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.cli.main import main
from ledger.db.models import APPEND_ONLY_TABLES
from ledger.facade import Ledger
from tests.factories import add_borrower, relending, setup_bank

# One statement per table that would change a row the ledger wrote.
EDITS = {
    "drawdown": "UPDATE drawdown SET amount_fen = amount_fen + 1 WHERE id = 2",
    "drawdown_event": "UPDATE drawdown_event SET amount_fen = 1 WHERE kind = 'repayment'",
    "enterprise_status": "UPDATE enterprise_status SET valid_from = '2020-01-01'",
    "month_close": "UPDATE month_close SET month = '2023-02'",
    "audit_log": "UPDATE audit_log SET actor = 'mallory' WHERE id = 3",
    "report_record": "UPDATE report_record SET sha256 = 'x'",
    "policy": "UPDATE policy SET value = '\"0.10\"' WHERE key = 'share.threshold'",
}


def _guards(ledger: Ledger, enable: bool) -> None:
    """PostgreSQL: toggle the user triggers; SQLite: the triggers cannot be disabled, so drop them."""
    with ledger.transaction() as conn:
        for table in APPEND_ONLY_TABLES:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"ALTER TABLE {table} {'ENABLE' if enable else 'DISABLE'} TRIGGER USER"))
            elif not enable:
                conn.execute(text(f"DROP TRIGGER trg_{table}_no_update"))
                conn.execute(text(f"DROP TRIGGER trg_{table}_no_delete"))


@pytest.fixture
def busy(ledger: Ledger) -> Iterator[Ledger]:
    _guards(ledger, True)  # another test in this process may have left PostgreSQL's triggers disabled
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    first = ledger.book(relending(firm, ext_ref="1")).id
    ledger.book(relending(firm, ext_ref="2"))
    ledger.repay(first, "2023-05-01", "10.00")
    ledger.close_month("2023-01")
    with ledger.transaction() as conn:  # a report record, written the way the report batch writes one
        from ledger.services.audit import begin_audit

        row = {
            "tool_code": None,
            "period": "2023-03",
            "file_name": "r.pdf",
            "sha256": "a" * 64,
            "data_fingerprint": "b" * 64,
            "generated_at": "2023-04-01T00:00:00+00:00",
        }
        audit = begin_audit(conn, ledger.actor, "report", "report_record", "", {"report": row})
        audit.digest.add("report_record", row)
        conn.execute(
            text(
                "INSERT INTO report_record (tool_code, period, file_name, sha256, data_fingerprint, generated_at, audit_id) "
                "VALUES (:tool_code, :period, :file_name, :sha256, :data_fingerprint, :generated_at, :audit_id)"
            ),
            {**row, "audit_id": audit.id},
        )
        audit.commit(conn)
    assert ledger.verify_audit().ok
    yield ledger
    _guards(ledger, True)


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
@pytest.mark.parametrize("verb", ["UPDATE", "DELETE"])
def test_triggers_refuse_update_and_delete_on_every_ledger_table(busy: Ledger, table: str, verb: str) -> None:
    statement = EDITS[table] if verb == "UPDATE" else f"DELETE FROM {table}"
    count = f"SELECT COUNT(*) FROM {table}"
    before = busy.sql(count).rows
    with pytest.raises(DBAPIError, match="append-only"), busy.transaction() as conn:
        conn.execute(text(statement))
    assert busy.sql(count).rows == before
    assert busy.verify_audit().ok


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_an_edit_past_the_triggers_is_named_by_audit_verify(
    busy: Ledger, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _guards(busy, False)
    with busy.transaction() as conn:
        assert conn.execute(text(EDITS[table])).rowcount >= 1
    result = busy.verify_audit()
    assert not result.ok and result.bad_record is not None
    code = main(["--db", busy.url, "audit", "verify"])
    err = capsys.readouterr().err
    assert code != 0 and str(result.bad_record) in err, err


def test_a_deleted_row_or_record_is_named_too(busy: Ledger) -> None:
    _guards(busy, False)
    with busy.transaction() as conn:
        conn.execute(text("DELETE FROM drawdown_event"))
    assert "repay" in busy.verify_audit().problem
    [[gone]] = busy.sql("SELECT MIN(id) FROM audit_log WHERE entity = 'institution'").rows
    with busy.transaction() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": gone})
    result = busy.verify_audit()
    assert not result.ok and result.bad_record == gone


def test_reference_data_edited_behind_the_ledger_is_caught(busy: Ledger) -> None:
    with busy.transaction() as conn:  # reference tables are mutable through the ledger, so no trigger here
        conn.execute(text("UPDATE institution SET name = '假银行'"))
    result = busy.verify_audit()
    assert not result.ok and "institution" in result.problem
