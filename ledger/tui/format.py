"""Display formatting: amounts with thousands separators in 元 or 万元 as labelled, dates ISO, shares in percent.

Display only: figures arrive as integer fen or Decimal and are never turned into floats on the way to the screen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.domain.money import fen_to_yuan, format_wan, format_yuan, round_half_up


def yuan(fen: int | None) -> str:
    """Integer fen → '1,234,567.89' (元)."""
    return "" if fen is None else format_yuan(fen_to_yuan(int(fen)))


def wan(fen: int | None, places: int = 2) -> str:
    """Integer fen → '123.46' (万元), rounded half-up."""
    return "" if fen is None else format_wan(fen_to_yuan(int(fen)), places)


def iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def percent(share: Decimal | None, places: int = 2) -> str:
    """A share as a fraction (0.5123) → '51.23%'; None (nothing drawn) → '—'."""
    if share is None:
        return "—"
    return f"{round_half_up(share * 100, places)}%"


def ratio(part_fen: int, whole_fen: int) -> Decimal | None:
    """Exact share of two integer sums (for bars and percentages on screen)."""
    if whole_fen == 0:
        return None
    return Decimal(part_fen) / Decimal(whole_fen)


def count(n: int, exact: bool = True) -> str:
    return f"{n:,}" if exact else f"≥{n:,}"
