"""ECDS bill numbers and new-generation sub-bill ranges (shared/domain.md §5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

BILL_TYPES = {"1": "银行承兑汇票", "2": "商业承兑汇票"}
_RANGE = re.compile(r"^(\d{1,12})-(\d{1,12})$")


@dataclass(frozen=True)
class BillNumber:
    number: str
    bill_type: str
    bank_code: str
    issued_on: date
    serial: str


def parse_bill_number(number: str) -> BillNumber:
    """Shape, digits and embedded date; the check digit's algorithm is not public, so it is not verified."""
    text = number.strip()
    if not text.isdigit() or len(text) != 30:
        raise ValueError(f"票据号码应为30位数字 (must be 30 digits, got {len(text)} characters)")
    if text[0] not in BILL_TYPES:
        raise ValueError(f"票据种类位应为1或2 (type digit must be 1 or 2, got {text[0]})")
    try:
        issued = date(int(text[13:17]), int(text[17:19]), int(text[19:21]))
    except ValueError as exc:
        raise ValueError(f"票据号码中的出票日期无效 (embedded date {text[13:21]} is not a date)") from exc
    return BillNumber(text, BILL_TYPES[text[0]], text[1:13], issued, text[21:29])


def parse_bill_range(text: str | None) -> str:
    """'0' (not split) or 'start-end' with start ≤ end, in 0.01-yuan units; normalised without leading zeros."""
    value = (text or "0").strip()
    if value in ("", "0"):
        return "0"
    m = _RANGE.match(value)
    if not m:
        raise ValueError("子票区间应为 '起始-结束' 或 0 (sub-bill range must be 'start-end' or 0)")
    start, end = int(m.group(1)), int(m.group(2))
    if start < 1 or end < start:
        raise ValueError("子票区间起始应≥1且不大于结束 (range start must be ≥ 1 and ≤ end)")
    return f"{start}-{end}"


def range_units(range_text: str) -> int | None:
    """Number of 0.01-yuan units in a range (None for an unsplit bill), so range and face can be cross-checked."""
    if range_text == "0":
        return None
    start, end = (int(x) for x in range_text.split("-"))
    return end - start + 1


def max_bill_term_months(issued_on: date) -> int:
    """Bills issued from 2023-01-01 run at most 6 months; earlier ones at most a year."""
    return 6 if issued_on >= date(2023, 1, 1) else 12


def make_bill_number(bill_type: str, bank_code: str, issued_on: date, serial: int) -> str:
    """A well-shaped number (demo data, tests); the trailing check digit is arbitrary since its rule is unpublished."""
    body = f"{bill_type}{bank_code:0>12}{issued_on:%Y%m%d}{serial:08d}"
    return body + str(sum(int(c) for c in body) % 10)
