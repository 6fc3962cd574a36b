"""The auditors' console is read-only on both backends, caps rows, and the documented views answer."""

from __future__ import annotations

import pytest

from ledger.domain.errors import LedgerError
from ledger.facade import Ledger


@pytest.fixture
def demo(ledger: Ledger) -> Ledger:
    ledger.load_demo(300, year=2024, seed=7)
    return ledger


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM drawdown",
        "UPDATE enterprise SET name = 'x'",
        "DROP TABLE drawdown",
        "SELECT 1; DELETE FROM drawdown",
        "WITH x AS (DELETE FROM drawdown RETURNING id) SELECT * FROM x",
        "INSERT INTO month_close VALUES ('2024-01', 1)",
    ],
)
def test_writes_fail_and_change_nothing(demo: Ledger, statement: str) -> None:
    before = demo.sql("SELECT COUNT(*) FROM drawdown").rows[0][0]
    with pytest.raises(LedgerError):
        demo.sql(statement)
    assert demo.sql("SELECT COUNT(*) FROM drawdown").rows[0][0] == before
    assert demo.verify_audit().ok


def test_results_are_capped_and_say_so(demo: Ledger) -> None:
    result = demo.sql("SELECT drawdown_id FROM v_drawdown ORDER BY drawdown_id", limit=100)
    assert len(result.rows) == 100 and result.truncated
    assert not demo.sql("SELECT COUNT(*) FROM v_drawdown").truncated


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
