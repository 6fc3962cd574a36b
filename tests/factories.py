"""Test data in one place: valid codes, a bank, borrowers with statuses, and bookings with sensible defaults."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.domain.bills import make_bill_number
from ledger.domain.uscc import make_uscc
from ledger.facade import Ledger
from ledger.services.drawdown_rules import BookingRequest

BANK = "BOB001"


def uscc(n: int) -> str:
    """The n-th valid USCC (deterministic), for borrowers that need distinct codes."""
    return make_uscc("91110108", f"{n:08d}")


def bill(n: int, issued_on: date = date(2023, 1, 10), bill_type: str = "1") -> str:
    return make_bill_number(bill_type, "313100000013", issued_on, n)


def setup_bank(ledger: Ledger, code: str = BANK, name: str = "北京银行") -> str:
    ledger.add_institution(code, name, "城市商业银行")
    return code


def add_borrower(
    ledger: Ledger,
    n: int,
    industry: str = "I6510",
    size: str = "small",
    statuses: tuple[tuple[str, date, date | None], ...] = (),
    name: str | None = None,
) -> str:
    code = uscc(n)
    ledger.add_enterprise(code, name or f"北京测试企业{n}有限公司", industry, size)
    for status, valid_from, valid_to in statuses:
        ledger.add_status(code, status, valid_from, valid_to)
    return code


def relending(enterprise: str, **overrides: Any) -> BookingRequest:
    """京民融 (relending, no funding share): amount only, 1 year, 3.50 % loan rate."""
    fields: dict[str, Any] = dict(
        tool="京民融",
        institution_code=BANK,
        enterprise_uscc=enterprise,
        drawn_on="2023-03-01",
        maturity_on="2024-03-01",
        amount="1000000.00",
        lend_rate="3.50",
    )
    fields.update(overrides)
    return BookingRequest(**fields)


def rediscount(enterprise: str, bill_no: str, **overrides: Any) -> BookingRequest:
    """再贴现 of a whole bill issued 2023-01-10, maturing within six months."""
    fields: dict[str, Any] = dict(
        tool="再贴现",
        institution_code=BANK,
        enterprise_uscc=enterprise,
        drawn_on="2023-03-01",
        maturity_on="2023-07-01",
        amount="500000.00",
        lend_rate="2.10",
        bill_no=bill_no,
    )
    fields.update(overrides)
    return BookingRequest(**fields)
