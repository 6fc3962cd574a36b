"""Booking through the facade, on both backends: every rule a clerk can trip, and what gets stored."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.domain.errors import RuleViolation, ValidationError
from ledger.facade import Ledger
from ledger.services.booking import Booked
from ledger.services.drawdown_rules import BookingRequest
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank


def book_now(ledger: Ledger, request: BookingRequest) -> Booked:
    """Books with no authority limit configured: the result is always a booking, never a queued approval."""
    result = ledger.book(request)
    assert isinstance(result, Booked)
    return result


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {p.field for p in exc.value.problems}


@pytest.fixture
def firm(ledger: Ledger) -> str:
    setup_bank(ledger)
    return add_borrower(
        ledger,
        1,
        industry="C3911",
        size="small",
        statuses=(("高新技术企业", date(2022, 1, 1), None), ("民营企业", date(2020, 1, 1), None)),
    )


def test_rate_defaults_from_the_dated_table_and_key_area_reason_is_kept(ledger: Ledger, firm: str) -> None:
    booked = book_now(ledger, relending(firm))
    # 京民融 draws on 支农支小 (an unconfirmed basis): a 12-month loan takes the 1-year rate, 2.00 % on 2023-03-01
    assert booked.values["cb_rate_ppm"] == 20000
    assert booked.values["key_area"] is True
    assert "高新技术企业" in booked.values["key_area_reason"]
    row = ledger.sql(
        f"SELECT amount_yuan, cb_rate_pct, key_area_reason, status FROM v_drawdown WHERE drawdown_id = {booked.id}"
    )
    assert Decimal(str(row.rows[0][0])) == Decimal("1000000.00")


def test_a_differing_rate_is_kept_and_flagged_not_rejected(ledger: Ledger, firm: str) -> None:
    booked = book_now(ledger, relending(firm, cb_rate="1.80"))
    assert booked.values["cb_rate_ppm"] == 18000 and booked.values["table_rate_ppm"] == 20000
    assert booked.warnings and "不符" in booked.warnings[0]
    flagged = ledger.sql(f"SELECT rate_differs FROM v_drawdown WHERE drawdown_id = {booked.id}").rows[0][0]
    assert int(flagged) == 1


def test_all_problems_are_reported_at_once_naming_each_field(ledger: Ledger, firm: str) -> None:
    with pytest.raises(ValidationError) as exc:
        ledger.book(relending(firm, tool="不存在", amount="-3", drawn_on="2023-02-30", lend_rate="x"))
    assert {"tool", "amount", "drawn_on", "lend_rate"} <= fields_of(exc)


def test_maturity_must_follow_drawdown_and_fit_the_term(ledger: Ledger, firm: str) -> None:
    with pytest.raises(ValidationError) as exc:
        ledger.book(relending(firm, maturity_on="2023-03-01"))
    assert fields_of(exc) == {"maturity_on"}
    with pytest.raises(ValidationError) as exc:
        ledger.book(relending(firm, maturity_on="2024-03-02"))  # beyond 12 months
    assert "12" in str(exc.value)


def test_funding_share_tools_compute_the_central_bank_amount(ledger: Ledger, firm: str) -> None:
    booked = book_now(ledger, relending(firm, tool="科技创新再贷款", amount=None, principal="1000000.01"))
    assert booked.values["amount_fen"] == 60_000_001  # 60% of 1,000,000.01 = 600,000.006 → 600,000.01
    with pytest.raises(ValidationError) as exc:
        ledger.book(relending(firm, tool="KJCX", amount="500000", principal="1000000", ext_ref="x"))
    assert fields_of(exc) == {"amount"}


def test_rediscount_needs_a_valid_bill_and_computes_interest(ledger: Ledger, firm: str) -> None:
    booked = book_now(ledger, rediscount(firm, bill(1)))
    # 500,000.00 × 2.00 % × 122 days / 360 = 3,388.89
    assert booked.values["interest_fen"] == 338_889
    with pytest.raises(ValidationError) as exc:
        ledger.book(rediscount(firm, None))  # type: ignore[arg-type]
    assert "bill_no" in fields_of(exc)
    with pytest.raises(ValidationError) as exc:
        ledger.book(rediscount(firm, bill(2), maturity_on="2023-07-11"))  # issued 2023-01-10: 6 months max
    assert fields_of(exc) == {"maturity_on"}


def test_a_bill_or_an_overlapping_sub_range_cannot_be_booked_twice(ledger: Ledger, firm: str) -> None:
    number = bill(3)
    ledger.book(rediscount(firm, number, amount="1.00", bill_range="1-100"))
    ledger.book(rediscount(firm, number, amount="1.00", bill_range="101-200"))
    with pytest.raises(ValidationError) as exc:
        ledger.book(rediscount(firm, number, amount="1.00", bill_range="150-249"))
    assert fields_of(exc) == {"bill_no"}


def test_a_reversed_bill_may_be_booked_again(ledger: Ledger, firm: str) -> None:
    first = ledger.book(rediscount(firm, bill(4)))
    ledger.reverse(first.id, "票号录错", on=date(2023, 3, 2))
    assert ledger.book(rediscount(firm, bill(4))).id != first.id


def test_eligibility_is_judged_on_drawn_on_and_can_be_overridden_with_a_reason(ledger: Ledger) -> None:
    setup_bank(ledger)
    lapsed = add_borrower(
        ledger,
        2,
        industry="I6510",
        size="medium",
        statuses=(("高新技术企业", date(2020, 1, 1), date(2022, 12, 31)),),
    )
    request = rediscount(lapsed, bill(5), tool="京创通")
    with pytest.raises(ValidationError) as exc:
        ledger.book(request)
    assert fields_of(exc) == {"enterprise_uscc"}
    request.override_reason = "经复核认定"
    booked = book_now(ledger, request)
    assert booked.values["override_reason"] == "经复核认定" and booked.values["key_area"] is False


def test_tool_names_are_accepted_exactly_as_users_type_them(ledger: Ledger, firm: str) -> None:
    for name in ("京民融", "JMR", "jmr"):
        assert book_now(ledger, relending(firm, tool=name, ext_ref=name)).values["tool_code"] == "JMR"


def test_unknown_bank_and_borrower_are_named(ledger: Ledger) -> None:
    with pytest.raises(ValidationError) as exc:
        ledger.book(relending("91110000802100433B", institution_code="NOPE"))
    assert fields_of(exc) == {"institution_code", "enterprise_uscc"}


def test_a_nul_byte_is_a_field_error_not_a_database_error(ledger: Ledger, firm: str) -> None:
    # PostgreSQL refuses NUL in a text parameter (found by the booking fuzz test): named before any query
    with pytest.raises(ValidationError) as exc:
        ledger.book(relending(firm, institution_code="\x00", ext_ref="a\x00b"))
    assert fields_of(exc) == {"institution_code", "ext_ref"}
    with pytest.raises(ValidationError) as exc:
        ledger.add_institution("B\x00", "某银行")
    assert fields_of(exc) == {"institution_code"}


def test_a_closed_month_refuses_bookings_dated_in_it(ledger: Ledger, firm: str) -> None:
    ledger.close_month("2023-03")
    with pytest.raises(RuleViolation):
        ledger.book(relending(firm))
    assert ledger.book(relending(firm, drawn_on="2023-04-03", maturity_on="2024-04-03")).id
    with pytest.raises(RuleViolation):
        ledger.close_month("2023-03")


def test_same_reference_from_the_same_bank_is_refused(ledger: Ledger, firm: str) -> None:
    ledger.book(relending(firm, ext_ref="APP-1"))
    with pytest.raises(ValidationError) as exc:
        ledger.book(relending(firm, ext_ref="APP-1"))
    assert fields_of(exc) == {"ext_ref"}


def test_lend_rate_cap_of_equipment_renewal(ledger: Ledger) -> None:
    setup_bank(ledger)
    maker = add_borrower(ledger, 3, industry="C3425", size="medium")
    request = relending(
        maker,
        tool="设备更新改造专项再贷款",
        amount=None,
        principal="100000",
        lend_rate="3.30",
        drawn_on="2023-05-01",
        maturity_on="2024-05-01",
    )
    with pytest.raises(ValidationError) as exc:
        ledger.book(request)
    assert fields_of(exc) == {"lend_rate"}
    request.lend_rate = "3.20"
    assert book_now(ledger, request).values["amount_fen"] == 10_000_000
