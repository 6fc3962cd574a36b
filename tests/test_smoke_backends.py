from __future__ import annotations

from decimal import Decimal

from ledger.facade import Ledger
from tests.factories import add_borrower, relending, setup_bank


def test_ten_fen_plus_twenty_fen_is_thirty_on_both_backends(ledger: Ledger) -> None:
    setup_bank(ledger)
    firm = add_borrower(ledger, 1, size="small")
    ledger.book(relending(firm, amount="0.10", ext_ref="a"))
    ledger.book(relending(firm, amount="0.20", ext_ref="b"))
    with ledger.connect() as conn:
        total = conn.exec_driver_sql("SELECT SUM(amount_fen) FROM drawdown").scalar_one()
    assert Decimal(total) / 100 == Decimal("0.30")
