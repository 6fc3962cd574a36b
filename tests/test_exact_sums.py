"""A million amounts sum exactly: integer fen on both backends (SQLite's REAL was off by 2.51 yuan here)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.facade import Ledger
from ledger.services.audit import append_audit
from tests.factories import add_borrower, setup_bank

N = 1_000_000


def _amount_fen(i: int) -> int:
    return (i * 7919) % 1_000_003 + 1  # fen values with every last digit, up to about 10,000 yuan


@pytest.mark.slow
def test_a_million_amounts_sum_to_the_fen(ledger: Ledger) -> None:
    setup_bank(ledger)
    add_borrower(ledger, 1)
    with ledger.transaction() as conn:
        audit_id = append_audit(conn, ledger.actor, "bulk_test", "drawdown", "", {"rows": N})
        series = (
            "SELECT CAST(g AS BIGINT) AS i FROM generate_series(1, :n) AS g"
            if conn.dialect.name == "postgresql"
            else "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s"
        )
        conn.execute(
            text(
                "INSERT INTO drawdown (tool_code, institution_id, enterprise_id, drawn_on, maturity_on, amount_fen, "
                "principal_fen, interest_fen, cb_rate_ppm, bill_range, batch_ref, ext_ref, key_area, key_area_reason, "
                "override_reason, audit_id) "
                f"SELECT 'JMR', 1, 1, :d, :m, (i * 7919) % 1000003 + 1, (i * 7919) % 1000003 + 1, 0, 17500, '0', '', "
                f"'', :k, '', '', :a FROM ({series}) AS series"
            ),
            {"n": N, "d": "2023-03-01", "m": "2024-03-01", "k": False, "a": audit_id},
        )
    expected = sum(_amount_fen(i) for i in range(1, N + 1))
    with ledger.connect() as conn:
        total = conn.execute(text("SELECT SUM(amount_fen), COUNT(*) FROM drawdown")).one()
    assert (int(total[0]), int(total[1])) == (expected, N)
    outstanding = sum(o.amount_fen for o in ledger.outstanding(__import__("datetime").date(2023, 6, 1)))
    assert outstanding == expected
    share_total = ledger.sql("SELECT SUM(total_fen) FROM v_share_by_year").rows[0][0]
    assert int(share_total) == expected
