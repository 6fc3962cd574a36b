"""Exact money and rates.

Money is Decimal yuan in Python and integer fen in the database; rates are Decimal percent in Python and integer
parts-per-million (ppm) of principal per year in the database (1.75 % = 17 500 ppm). Floats are refused at the
boundary, because one float in the path is enough to lose a fen over a million rows.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

FEN_PER_YUAN = 100
PPM_PER_PERCENT = 10_000
_AMOUNT_TEXT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


class MoneyError(ValueError):
    """Raised for text that is not an exact amount or rate; the message says which rule failed."""


def _to_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool | float):
        raise MoneyError(f"{what} must be given exactly (text, int or Decimal), not {type(value).__name__}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("，", ",").replace("¥", "").replace("￥", "").strip()
        if not _AMOUNT_TEXT.match(text):
            raise MoneyError(f"{what} is not a number: {value!r}")
        try:
            result = Decimal(text.replace(",", ""))
        except InvalidOperation as exc:  # pragma: no cover - regex guards this
            raise MoneyError(f"{what} is not a number: {value!r}") from exc
    else:
        raise MoneyError(f"{what} has an unsupported type {type(value).__name__}")
    if not result.is_finite():
        raise MoneyError(f"{what} must be finite")
    return result


def parse_yuan(value: object) -> Decimal:
    """Yuan with at most two decimals; thousands separators allowed in text."""
    return _yuan_text(value) if type(value) is str else _parse_yuan(value)


def parse_rate(value: object) -> Decimal:
    """A rate in percent per year with at most four decimals (0.0001 % = 1 ppm)."""
    return _rate_text(value) if type(value) is str else _parse_rate(value)


# Text is memoised (Decimals are immutable): a bank's file repeats the same few rates and, over a million rows,
# a few tens of thousands of amounts, and parsing was a fifth of an import's rule time. Errors are not cached.
@lru_cache(maxsize=65536)
def _yuan_text(value: str) -> Decimal:
    return _parse_yuan(value)


@lru_cache(maxsize=4096)
def _rate_text(value: str) -> Decimal:
    return _parse_rate(value)


def _parse_yuan(value: object) -> Decimal:
    amount = _to_decimal(value, "amount")
    try:  # quantize raises InvalidOperation past 28 digits: a hostile input, not a bug
        fen_exact = amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise MoneyError(f"amount too large: {str(value)[:40]!r}") from None
    if not fen_exact:
        raise MoneyError(f"amount has more than 2 decimals (fen): {value!r}")
    return amount.quantize(Decimal("0.01"))


# Memoised by value (Decimal('1.5') == Decimal('1.50'): same fen); bulk loads convert once per row.
@lru_cache(maxsize=65536)
def yuan_to_fen(amount: Decimal) -> int:
    q = amount.quantize(Decimal("0.01"))
    if q != amount:
        raise MoneyError(f"amount has more than 2 decimals (fen): {amount}")
    return int(q * FEN_PER_YUAN)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(int(fen)) / FEN_PER_YUAN).quantize(Decimal("0.01"))


def _parse_rate(value: object) -> Decimal:
    rate = _to_decimal(value, "rate")
    try:
        rate.quantize(Decimal("0.0001"))
    except InvalidOperation:
        raise MoneyError(f"rate too large: {str(value)[:40]!r}") from None
    if rate != rate.quantize(Decimal("0.0001")):
        raise MoneyError(f"rate has more than 4 decimals: {value!r}")
    return rate.normalize() if rate == rate.to_integral() else rate


@lru_cache(maxsize=4096)
def rate_to_ppm(rate_percent: Decimal) -> int:
    scaled = rate_percent * PPM_PER_PERCENT
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"rate has more than 4 decimals: {rate_percent}")
    return int(scaled)


def ppm_to_rate(ppm: int) -> Decimal:
    """Integer ppm back to percent, shown with two decimals unless finer digits exist (1.75, 2.1250)."""
    exact = (Decimal(int(ppm)) / PPM_PER_PERCENT).quantize(Decimal("0.0001"))
    two = exact.quantize(Decimal("0.01"))
    return two if two == exact else exact


def round_half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_yuan(amount: Decimal) -> str:
    """1234567.8 → '1,234,567.80' (thousands separators, always two decimals)."""
    return f"{amount.quantize(Decimal('0.01')):,.2f}"


def format_wan(amount_yuan: Decimal, places: int = 2) -> str:
    """Yuan → 万元 text with separators, rounded half-up (display only)."""
    return f"{round_half_up(amount_yuan / Decimal(10_000), places):,.{places}f}"


def format_yi(amount_yuan: Decimal, places: int = 2) -> str:
    """Yuan → 亿元 text, rounded half-up (display only)."""
    return f"{round_half_up(amount_yuan / Decimal(100_000_000), places):,.{places}f}"


def interest_fen(face_fen: int, rate_ppm: int, days: int) -> int:
    """Rediscount interest = face × rate × days / 360, rounded half-up to the fen, in integers only."""
    numerator = face_fen * rate_ppm * days
    denominator = 360 * 1_000_000
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if remainder * 2 >= denominator else 0)
