from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.money import (
    MoneyError,
    fen_to_yuan,
    format_wan,
    format_yuan,
    interest_fen,
    parse_rate,
    parse_yuan,
    ppm_to_rate,
    rate_to_ppm,
    yuan_to_fen,
)

fen_values = st.integers(min_value=0, max_value=10**15)


@given(fen_values)
def test_fen_yuan_round_trip_is_exact(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.lists(fen_values, max_size=200))
def test_sum_in_fen_equals_sum_in_decimal_yuan(values: list[int]) -> None:
    assert fen_to_yuan(sum(values)) == sum((fen_to_yuan(v) for v in values), Decimal(0))


@given(st.integers(min_value=0, max_value=999_999))
def test_rate_ppm_round_trip(ppm: int) -> None:
    assert rate_to_ppm(ppm_to_rate(ppm)) == ppm


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1,234,567.89", Decimal("1234567.89")),
        ("0.1", Decimal("0.10")),
        ("¥100", Decimal("100.00")),
        (7, Decimal("7.00")),
    ],
)
def test_parse_yuan_accepts_what_clerks_type(text: object, expected: Decimal) -> None:
    assert parse_yuan(text) == expected


@pytest.mark.parametrize("bad", ["1.001", "abc", "1,23", "", "1e5", 0.1, True, "NaN"])
def test_parse_yuan_refuses_inexact_or_float_input(bad: object) -> None:
    with pytest.raises(MoneyError):
        parse_yuan(bad)


def test_rates_are_exact_to_four_decimals() -> None:
    assert rate_to_ppm(parse_rate("1.75")) == 17500
    assert ppm_to_rate(17500) == Decimal("1.75")
    assert ppm_to_rate(21250) == Decimal("2.125").quantize(Decimal("0.0001"))
    with pytest.raises(MoneyError):
        parse_rate("1.23456")


def test_rediscount_interest_face_times_rate_times_days_over_360() -> None:
    # 1,000,000.00 yuan at 2.00% for 90 days = 5,000.00 yuan exactly
    assert interest_fen(100_000_000, 20_000, 90) == 500_000
    # 333.33 at 1.75% for 1 day = 0.0162… yuan → 0.02 (half-up on the fen)
    assert interest_fen(33_333, 17_500, 1) == 2


def test_display_formats() -> None:
    assert format_yuan(Decimal("1234567.8")) == "1,234,567.80"
    assert format_wan(Decimal("45910000")) == "4,591.00"
