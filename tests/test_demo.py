"""Demo data: deterministic, realistic, valid by the same rules, and auditable."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.cli.main import main
from ledger.domain.errors import RuleViolation
from ledger.domain.uscc import uscc_problem
from ledger.facade import Ledger
from tests.factories import add_borrower, relending, setup_bank


def test_demo_is_valid_deterministic_and_near_the_threshold(ledger: Ledger) -> None:
    result = ledger.load_demo(3000, year=2024, seed=11, today=date(2026, 11, 24))
    assert result.drawdowns == 3000 and result.events > 0
    assert ledger.verify_audit().ok
    codes = [r[0] for r in ledger.sql("SELECT uscc FROM enterprise", limit=None).rows]
    assert all(uscc_problem(c) is None for c in codes)
    kinds = {r[0] for r in ledger.sql("SELECT DISTINCT kind FROM drawdown_event").rows}
    assert kinds == {"reversal", "repayment", "rollover"}
    tools = {r[0] for r in ledger.sql("SELECT DISTINCT tool_code FROM drawdown").rows}
    assert len(tools) >= 12
    key, total = ledger.sql("SELECT SUM(key_area_fen), SUM(total_fen) FROM v_share_by_year").rows[0]
    assert 0.35 < int(key) / int(total) < 0.65
    bills = ledger.sql("SELECT COUNT(*) FROM drawdown WHERE bill_no IS NOT NULL").rows[0][0]
    assert bills > 500
    fingerprint = ledger.sql(
        "SELECT SUM(amount_fen), SUM(cb_rate_ppm), COUNT(DISTINCT enterprise_id) FROM drawdown"
    ).rows[0]
    assert tuple(fingerprint) == _fresh_fingerprint(ledger)


def _fresh_fingerprint(ledger: Ledger) -> tuple[int, int, int]:
    """The same arguments on an empty SQLite ledger give the same data."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        other = Ledger(str(Path(tmp) / "again.db"))
        other.init()
        other.load_demo(3000, year=2024, seed=11, today=date(2026, 11, 24))
        row = other.sql(
            "SELECT SUM(amount_fen), SUM(cb_rate_ppm), COUNT(DISTINCT enterprise_id) FROM drawdown"
        ).rows[0]
        other.dispose()
    return tuple(row)  # type: ignore[return-value]


@pytest.mark.parametrize("what", ["a drawdown", "a closed month", "a pending item"])
def test_demo_data_is_only_ever_loaded_into_an_empty_ledger(ledger: Ledger, what: str) -> None:
    """Trust I finding 4: `ledger demo` wrote into closed months and beside real entries."""
    if what == "a closed month":
        ledger.close_month("2024-03")
    else:
        setup_bank(ledger)
        firm = add_borrower(ledger, 1)
        if what == "a pending item":
            from tests.conftest import set_policy

            set_policy(ledger, maker_checker={"default_limit_yuan": "10"})
        ledger.book(relending(firm))
    counts = ledger.sql("SELECT (SELECT COUNT(*) FROM drawdown), (SELECT COUNT(*) FROM audit_log)").rows
    with pytest.raises(RuleViolation, match="空台账"):
        ledger.load_demo(200, year=2024, seed=3)
    assert (
        main(["--db", ledger.url, *(["--user", ledger.actor] if ledger.training_mode else []), "demo"]) == 1
    )
    after = ledger.sql("SELECT (SELECT COUNT(*) FROM drawdown), (SELECT COUNT(*) FROM audit_log)").rows
    assert after[0][0] == counts[0][0]  # nothing written (the refusal itself is not a write)
    assert ledger.verify_audit().ok
