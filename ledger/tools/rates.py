"""Published central-bank rate tables (shared/domain.md §2), held as dated data, never as constants in logic.

Each point carries its source; a date or rate no source gives is marked "unconfirmed: …" (`ledger tools --json`
shows both)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.tools.model import RatePoint, RateTable

PUBLISHED = "PBOC published rate (shared/domain.md §2)"


def _table(name: str, rows: list[tuple[str, dict[int, str], str]]) -> RateTable:
    points = tuple(
        RatePoint(date.fromisoformat(day), tenor, Decimal(rate), source)
        for day, by_tenor, source in rows
        for tenor, rate in by_tenor.items()
    )
    return RateTable(name, points)


# 支农支小再贷款 (and its predecessors 支农/支小再贷款) by tenor in months.
SMALL_AGRI = _table(
    "支农支小",
    [
        ("2020-07-01", {3: "1.95", 6: "2.15", 12: "2.25"}, PUBLISHED),
        ("2021-12-07", {3: "1.70", 6: "1.90", 12: "2.00"}, PUBLISHED),
        ("2025-05-07", {3: "1.20", 6: "1.40", 12: "1.50"}, PUBLISHED),
        ("2026-01-19", {3: "0.95", 6: "1.15", 12: "1.25"}, PUBLISHED),
    ],
)

# 再贴现; the date of the 2.00 → 1.75 cut is unconfirmed (domain.md) and taken as 2025-05-07.
REDISCOUNT = _table(
    "再贴现",
    [
        ("2020-07-01", {0: "2.00"}, PUBLISHED),
        ("2021-12-07", {0: "2.00"}, PUBLISHED),
        (
            "2025-05-07",
            {0: "1.75"},
            "unconfirmed: the date of the 2.00 → 1.75 cut is not given by any source (taken as 2025-05-07)",
        ),
        ("2026-01-19", {0: "1.50"}, PUBLISHED),
    ],
)

# Structural special tools (科技创新、碳减排 …): 1.75 "at launch"; no source dates it, and no special tool existed
# before 2021-11, so the first point is the earliest launch month, marked unconfirmed.
SPECIAL = _table(
    "专项工具",
    [
        (
            "2021-11-01",
            {0: "1.75"},
            "unconfirmed: domain.md §2 gives 1.75 'at launch' with no date; taken from the first special tools' "
            "launch month (2021-11)",
        ),
        ("2021-12-07", {0: "1.75"}, PUBLISHED),
        ("2025-05-07", {0: "1.50"}, PUBLISHED),
        ("2026-01-19", {0: "1.25"}, PUBLISHED),
    ],
)

RATE_TABLES: dict[str, RateTable] = {t.name: t for t in (SMALL_AGRI, REDISCOUNT, SPECIAL)}
