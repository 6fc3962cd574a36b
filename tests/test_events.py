"""Reversal, repayment and rollover are events; outstanding balances follow from them on any date."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain.errors import RuleViolation, ValidationError
from ledger.facade import Ledger
from tests.factories import add_borrower, relending, setup_bank


@pytest.fixture
def booked(ledger: Ledger) -> int:
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, industry="C3911", statuses=(("高新技术企业", date(2022, 1, 1), None),))
    # A special tool (1 year, rollable twice); 60% of the principal: 1,666,666.67 × 60% = 1,000,000.00.
    return ledger.book(relending(firm, tool="科技创新再贷款", amount=None, principal="1666666.67")).id


def balance(ledger: Ledger, day: str) -> int:
    return sum(o.amount_fen for o in ledger.outstanding(date.fromisoformat(day)))


def test_outstanding_follows_drawdown_repayment_and_maturity(ledger: Ledger, booked: int) -> None:
    assert balance(ledger, "2023-02-28") == 0
    assert balance(ledger, "2023-03-01") == 100_000_000
    ledger.repay(booked, "2023-06-30", "250000.00")
    assert balance(ledger, "2023-06-29") == 100_000_000
    assert balance(ledger, "2023-06-30") == 75_000_000
    assert balance(ledger, "2024-03-01") == 0  # matured


def test_rollover_extends_the_balance_and_stops_after_two(ledger: Ledger, booked: int) -> None:
    ledger.rollover(booked, "2025-03-01")
    assert balance(ledger, "2024-06-01") == 100_000_000
    with pytest.raises(ValidationError):
        ledger.rollover(booked, "2025-02-01")  # must extend
    with pytest.raises(ValidationError):
        ledger.rollover(booked, "2026-03-02")  # at most one term further
    ledger.rollover(booked, "2026-03-01")
    with pytest.raises(RuleViolation):
        ledger.rollover(booked, "2026-12-01")


def test_reversal_removes_the_drawdown_everywhere_and_only_once(ledger: Ledger, booked: int) -> None:
    with pytest.raises(ValidationError):
        ledger.reverse(booked, "  ")
    ledger.reverse(booked, "金额录错", on=date(2023, 3, 5))
    assert balance(ledger, "2023-06-01") == 0
    with pytest.raises(RuleViolation):
        ledger.reverse(booked, "again")
    with pytest.raises(RuleViolation):
        ledger.repay(booked, "2023-06-01")
    status = ledger.sql(f"SELECT status FROM v_drawdown WHERE drawdown_id = {booked}").rows[0][0]
    assert status == "reversed"


def test_repayment_cannot_exceed_what_remains(ledger: Ledger, booked: int) -> None:
    ledger.repay(booked, "2023-04-01", "999999.99")
    with pytest.raises(ValidationError):
        ledger.repay(booked, "2023-04-02", "0.02")
    ledger.repay(booked, "2023-04-02")  # the last fen
    with pytest.raises(RuleViolation):
        ledger.repay(booked, "2023-04-03")
    assert balance(ledger, "2023-05-01") == 0


def test_a_correction_after_the_close_lands_in_an_open_month(ledger: Ledger, booked: int) -> None:
    """Effective dating: nothing may be dated in a closed month, and a later reversal of one of its drawdowns takes
    effect in its own (open) month, so every figure as of the closed month-end stays as it was."""
    ledger.close_month("2023-03")
    march_end = date(2023, 3, 31)
    before = (balance(ledger, "2023-03-31"), ledger.share(2023, march_end).as_json())
    with pytest.raises(RuleViolation, match="已月结"):
        ledger.reverse(booked, "dated into the closed month", on=date(2023, 3, 20))
    with pytest.raises(RuleViolation):
        ledger.repay(booked, "2023-03-20")
    ledger.reverse(booked, "late correction", on=date(2023, 4, 2))
    assert (balance(ledger, "2023-03-31"), ledger.share(2023, march_end).as_json()) == before
    assert balance(ledger, "2023-04-01") == 100_000_000 and balance(ledger, "2023-04-02") == 0
    assert ledger.share(2023, date(2023, 4, 30)).total_fen == 0
    assert ledger.verify_audit().ok


def test_a_reversal_cannot_take_effect_before_the_drawdown(ledger: Ledger, booked: int) -> None:
    with pytest.raises(ValidationError, match="发放日"):
        ledger.reverse(booked, "before it existed", on=date(2023, 2, 28))
    assert not ledger.state(booked).reversed


def test_booked_rows_cannot_be_updated_or_deleted_even_with_sql(ledger: Ledger, booked: int) -> None:
    from sqlalchemy.exc import DBAPIError

    for statement in (
        "UPDATE drawdown SET amount_fen = 1",
        "DELETE FROM drawdown",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET actor = 'x'",
    ):
        with pytest.raises(DBAPIError, match="append-only"), ledger.transaction() as conn:
            conn.exec_driver_sql(statement)
    assert ledger.state(booked).amount_fen == 100_000_000
