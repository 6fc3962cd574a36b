"""USCC check characters, GB/T 4754 industry codes, ECDS bill numbers, dates as typed."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.bills import max_bill_term_months, parse_bill_number, parse_bill_range, range_units
from ledger.domain.dates import add_months, parse_date, parse_month
from ledger.domain.industry import high_tech_group, industry_problem, is_manufacturing
from ledger.domain.uscc import CHARSET, make_uscc, uscc_problem


@pytest.mark.parametrize("code", ["914403001922038216", "91110000802100433B", "91310000717866186P"])
def test_published_real_codes_pass(code: str) -> None:
    assert uscc_problem(code) is None


@pytest.mark.parametrize(
    "code,fragment",
    [
        ("91310000717866186Q", "校验码"),  # wrong final check
        ("9131000071786618", "18位"),  # too short
        ("91310000717866I86P", "非法字符"),  # I is not in the charset
        ("913100007178661X6P", "组织机构代码"),  # organisation-code check broken
    ],
)
def test_bad_codes_say_which_rule(code: str, fragment: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and fragment in problem


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet="0123456789ABCDEFGH", min_size=8, max_size=8),
)
def test_generated_codes_are_valid_and_any_single_change_is_caught(prefix: str, org: str) -> None:
    code = make_uscc(prefix, org)
    assert uscc_problem(code) is None
    last = CHARSET[(CHARSET.index(code[17]) + 1) % 31]
    assert uscc_problem(code[:17] + last) is not None


@pytest.mark.parametrize(
    "code,ok",
    [
        ("C3911", True),
        ("I6510", True),
        ("C", True),
        ("C44", False),
        ("Z01", False),
        ("A0111", True),
        ("c3911", False),
        ("C391122", False),
    ],
)
def test_industry_codes(code: str, ok: bool) -> None:
    assert (industry_problem(code) is None) is ok


def test_manufacturing_and_high_tech() -> None:
    assert is_manufacturing("C3911") and is_manufacturing("C13") and not is_manufacturing("D4415")
    assert high_tech_group("C2710") == "医药制造"
    assert high_tech_group("I6510") is None


def test_bill_number_shape_and_embedded_date() -> None:
    bill = parse_bill_number("110210000000120230110000000013")
    assert bill.bill_type == "银行承兑汇票" and bill.issued_on == date(2023, 1, 10)
    for bad in (
        "11021000000012023011000000001",
        "3102100000001202301100000000X3",
        "110210000000120231310000000013",
    ):
        with pytest.raises(ValueError):
            parse_bill_number(bad)
    assert max_bill_term_months(date(2022, 12, 31)) == 12 and max_bill_term_months(date(2023, 1, 1)) == 6


def test_sub_bill_ranges() -> None:
    assert parse_bill_range(None) == "0" and parse_bill_range("0001-100") == "1-100"
    assert range_units("1-100") == 100
    for bad in ("5-1", "0-3", "a-b", "1–2"):
        with pytest.raises(ValueError):
            parse_bill_range(bad)


@pytest.mark.parametrize(
    "text", ["2023-03-31", "2023/3/31", "2023年3月31日", "20230331", "2023-03-31 00:00:00"]
)
def test_dates_as_typed(text: str) -> None:
    assert parse_date(text) == date(2023, 3, 31)


def test_bad_dates_and_months() -> None:
    for bad in ("2023-02-30", "31/03/2023", ""):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert parse_month("2023-3") == (2023, 3)
    with pytest.raises(ValueError):
        parse_month("2023-13")


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)), st.integers(min_value=-40, max_value=40)
)
def test_add_months_matches_dateutil(day: date, months: int) -> None:
    from dateutil.relativedelta import relativedelta

    assert add_months(day, months) == day + relativedelta(months=months)
