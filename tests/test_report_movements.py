"""The movements and the maturity ladder, on both backends: for every month of a demo ledger (reversals, early
repayments and rollovers included) the opening balance + drawn − matured − repaid − reversed equals the closing
balance as ledger.services.balances computes it, to the fen and the drawdown; each month opens where the previous
closed; the 12-month ladder plus "12个月以上" adds up to the closing balance; and the pages print it so."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from ledger.facade import Ledger
from ledger.reports import batch
from ledger.reports import figures as fig
from ledger.services.balances import outstanding
from tests.factories import add_borrower, relending, setup_bank

STAMP = "2024-01-05T09:00:00+08:00"


def pdf_lines(path: Path) -> list[str]:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages).splitlines()


@pytest.fixture
def demo(ledger: Ledger) -> Ledger:
    ledger.load_demo(drawdowns=2500, year=2023, seed=11)
    return ledger


def test_movements_reconcile_with_the_ledger_in_every_demo_month(demo: Ledger):
    kinds: dict[str, int] = {}
    with demo.connect() as conn:
        kinds = dict(conn.execute(text("SELECT kind, COUNT(*) FROM drawdown_event GROUP BY kind")).all())
        assert set(kinds) == {"reversal", "repayment", "rollover"}  # the demo exercises every door
        previous: dict[str, fig.Movements] = {}
        previous_month = ""
        seen = fig.Movements()
        for month in [f"2023-{m:02d}" for m in range(1, 13)] + ["2024-01", "2024-06", "2025-02"]:
            period = fig.Period.parse(month)
            moves = fig.movements(conn, period)
            positions = fig.month_end_positions(conn, period)
            closing = {o.tool_code: o for o in outstanding(conn, period.last)}
            for code, mv in moves.items():
                assert mv.holds, (month, code, mv)
                assert mv.closing.amount_fen == (closing[code].amount_fen if code in closing else 0)
                if previous_month == period.shifted(-1).key and code in previous:
                    assert mv.opening == previous[code].closing, (month, code)
                fen, n, ladder = positions.get(code, (0, 0, fig.empty_ladder()))
                assert len(ladder) == 13
                assert sum(ladder, fig.Maturing()) == fig.Maturing(n, fen) == mv.closing, (month, code)
                seen = seen + mv
            previous, previous_month = moves, period.key
    # Every kind of movement occurred somewhere in the year (the identity was not checked on empty months only).
    assert seen.drawn.drawdowns and seen.matured.drawdowns and seen.repaid.amount_fen
    assert seen.reversed.drawdowns and seen.rolled.drawdowns and seen.repaid_partly


def test_movements_page_shows_the_month_by_hand(ledger: Ledger, tmp_path: Path):
    setup_bank(ledger)
    a = add_borrower(ledger, 1)
    b = add_borrower(ledger, 2)
    feb = ledger.book(relending(a, drawn_on="2023-02-10", maturity_on="2023-03-10", amount="400000.00")).id
    keep = ledger.book(relending(b, drawn_on="2023-02-11", maturity_on="2024-02-11", amount="600000.00")).id
    gone = ledger.book(relending(a, drawn_on="2023-03-01", maturity_on="2024-03-01", amount="1000000.00")).id
    wrong = ledger.book(relending(b, drawn_on="2023-03-02", maturity_on="2024-03-02", amount="700000.25")).id
    ledger.book(relending(b, drawn_on="2023-03-03", maturity_on="2024-03-03", amount="50000.00"))
    ledger.repay(keep, date(2023, 3, 15), "100000.00", "部分收回")
    ledger.repay(gone, date(2023, 3, 20), None, "全部收回")
    ledger.reverse(wrong, "录入错误", date(2023, 3, 5))
    assert feb  # matures on March 10

    tool = batch.monthly_reports(ledger, "2023-03", ["JMR"], tmp_path, STAMP)[0]
    lines = pdf_lines(tool.path)
    at = lines.index("二、余额变动（月初至月末）")
    block = lines[at : lines.index("三、月末余额到期阶梯（按到期月份）")]

    def row(label: str) -> list[str]:
        i = block.index(label)
        return block[i + 1 : i + 4]

    assert row("月初余额（上月末）") == ["2", "1,000,000.00", "100.00"]
    assert row("加：本月发放（含本月内冲正的发放）") == ["3", "1,750,000.25", "175.00"]
    assert row("减：到期") == ["1", "400,000.00", "40.00"]
    assert row("减：提前收回") == ["1", "1,100,000.00", "110.00"]  # one in full, one in part
    assert row("减：冲正") == ["1", "700,000.25", "70.00"]
    assert row("月末余额（合计）") == ["2", "550,000.00", "55.00"]
    assert "与台账余额相符" in "".join(block)
    assert ledger.outstanding(date(2023, 3, 31), "JMR")[0].amount_fen == 55_000_000

    ladder = lines[lines.index("三、月末余额到期阶梯（按到期月份）") :]
    i = ladder.index("2024年2月")
    assert ladder[i + 1 : i + 3] == ["1", "50.00"]  # keep, less its repayment
    i = ladder.index("2024年3月")  # the twelfth month
    assert ladder[i + 1 : i + 3] == ["1", "5.00"]
    i = ladder.index("12个月以上")
    assert ladder[i + 1 : i + 3] == ["0", "0.00"]
    i = ladder.index("合计")
    assert ladder[i + 1 : i + 4] == ["2", "55.00", "550,000.00"]


def test_summary_movements_add_up_over_tools(demo: Ledger, tmp_path: Path):
    results = batch.monthly_reports(demo, "2023-06", out_dir=tmp_path, generated_at=STAMP)
    lines = pdf_lines(results[-1].path)
    start = lines.index("三、余额变动（分工具）")
    table = lines[start : lines.index("余额变动（全部工具）")]
    assert "不符" not in table and table.count("相符") >= len(results) - 1
    with demo.connect() as conn:
        total = sum(fig.movements(conn, fig.Period.parse("2023-06")).values(), fig.Movements())
        balance = sum(o.amount_fen for o in outstanding(conn, date(2023, 6, 30)))
    assert total.holds and total.closing.amount_fen == balance
    i = table.index("合计")
    assert (
        table[i + 6] == f"{total.closing.amount_fen / 1_000_000:,.2f}"
    )  # rounding aside, the 万元 of the balance
