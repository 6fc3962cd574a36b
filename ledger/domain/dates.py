"""Dates as staff type them, and the month arithmetic terms need."""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")

# The dates the ledger accepts anywhere (bookings, imports, statuses, checks, closes): the first structural tools
# and the policy epoch are later than 1990, and nothing in a ledger lies beyond 2099.
MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2099, 12, 31)
RANGE_RULE = (
    f"日期须在 {MIN_DATE} 至 {MAX_DATE} 之间 (dates from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()})"
)
YEAR_RULE = f"年份须在 {MIN_DATE.year}–{MAX_DATE.year} 之间 (years {MIN_DATE.year} to {MAX_DATE.year})"


def check_date_range(day: date) -> date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"{RANGE_RULE}: {day.isoformat()}")
    return day


def check_year(year: int) -> int:
    if not MIN_DATE.year <= year <= MAX_DATE.year:
        raise ValueError(f"{YEAR_RULE}: {year}")
    return year


def parse_date(value: object) -> date:
    """2023-03-31, 2023/3/31, 2023年3月31日, 2023.3.31 or 20230331; a datetime or date passes through."""
    if isinstance(value, date):
        return check_date_range(value if type(value) is date else date(value.year, value.month, value.day))
    return _parse_date_text(str(value))


@lru_cache(maxsize=16384)
def _parse_date_text(value: str) -> date:
    """Memoised: an import of a million rows holds a few thousand distinct dates, and dates are immutable."""
    text = value.strip()
    if " " in text:  # spreadsheet datetimes such as '2023-03-31 00:00:00'
        text = text.split(" ", 1)[0]
    for pattern in _PATTERNS:
        m = pattern.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                day = date(y, mo, d)
            except ValueError as exc:
                raise ValueError(f"日期不存在 (no such date: {text})") from exc
            return check_date_range(day)
    raise ValueError("日期格式应为 2023-03-31、2023/3/31 或 2023年3月31日")


def parse_month(text: str) -> tuple[int, int]:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError("月份格式应为 YYYY-MM (e.g. 2023-03)")
    return check_year(int(m.group(1))), int(m.group(2))


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@lru_cache(maxsize=16384)
def add_months(day: date, months: int) -> date:
    """Same day n months on, clamped to the month's end (2023-01-31 + 1 → 2023-02-28), as relativedelta does;
    written out and memoised because bulk loads call it millions of times, for a few thousand distinct days."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month0 + 1, min(day.day, monthrange(year, month0 + 1)[1]))


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    return first, add_months(first, 1) - relativedelta(days=1)
