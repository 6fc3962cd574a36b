"""The UI's read-only queries on both backends: pages, filters, capped counts, dashboard figures."""

from __future__ import annotations

from datetime import date

from ledger.facade import Ledger
from ledger.services import queries
from ledger.services.queries import DrawdownFilter
from tests.factories import add_borrower, bill, rediscount, relending, setup_bank, uscc

TODAY = date(2023, 6, 15)


def _book_some(ledger: Ledger) -> dict[str, int]:
    setup_bank(ledger)
    green = add_borrower(ledger, 1, industry="C3825", name="北京绿色制造有限公司")
    plain = add_borrower(ledger, 2, name="北京普通服务有限公司")
    ids = {
        "march": ledger.book(relending(plain, amount="1000000.00")).id,
        "april": ledger.book(
            relending(green, drawn_on="2023-04-03", maturity_on="2023-07-01", amount="250000.50")
        ).id,
        "bill": ledger.book(rediscount(plain, bill(7))).id,
        "june": ledger.book(
            relending(plain, drawn_on="2023-06-01", maturity_on="2024-06-01", amount="300.00")
        ).id,
    }
    ledger.reverse(ids["june"], "录入错误", on=TODAY)
    return ids


def test_page_filters_sort_and_status(ledger: Ledger) -> None:
    ids = _book_some(ledger)
    with ledger.connect() as conn:
        everything = queries.drawdown_page(conn, DrawdownFilter(), TODAY, 0)
        assert [r.id for r in everything] == sorted(ids.values(), reverse=True)
        by_amount = queries.drawdown_page(conn, DrawdownFilter(sort="amount", descending=False), TODAY, 0)
        assert [r.amount_fen for r in by_amount] == [30000, 25000050, 50000000, 100000000]
        second_page = queries.drawdown_page(
            conn, DrawdownFilter(sort="amount", descending=False), TODAY, 2, limit=1
        )
        assert [r.amount_fen for r in second_page] == [50000000]
        april = queries.drawdown_page(conn, DrawdownFilter(month="2023-04"), TODAY, 0)
        assert [r.id for r in april] == [ids["april"]]
        assert april[0].enterprise_name == "北京绿色制造有限公司"
        key = queries.drawdown_page(conn, DrawdownFilter(key_area=True), TODAY, 0)
        assert [r.id for r in key] == [ids["april"]]
        rev = queries.drawdown_page(conn, DrawdownFilter(status="reversed"), TODAY, 0)
        assert [(r.id, r.status) for r in rev] == [(ids["june"], "reversed")]
        outstanding = queries.drawdown_page(conn, DrawdownFilter(status="outstanding"), TODAY, 0)
        assert sorted(r.id for r in outstanding) == sorted([ids["march"], ids["april"], ids["bill"]])
        # The bill and the April loan mature 2023-07-01: matured once that day has come.
        later = date(2023, 7, 1)
        matured = queries.drawdown_page(conn, DrawdownFilter(status="matured"), later, 0)
        assert sorted(r.id for r in matured) == sorted([ids["bill"], ids["april"]])
        tool = ledger.tool("再贴现").code
        assert queries.count_drawdowns(conn, DrawdownFilter(tool_code=tool), TODAY) == (1, True)


def test_free_text_matches_name_uscc_and_bill(ledger: Ledger) -> None:
    ids = _book_some(ledger)
    with ledger.connect() as conn:
        by_name = queries.drawdown_page(conn, DrawdownFilter(text="绿色制造"), TODAY, 0)
        assert [r.id for r in by_name] == [ids["april"]]
        the_bill = bill(7)
        by_bill = queries.drawdown_page(conn, DrawdownFilter(text=the_bill[:20]), TODAY, 0)
        assert [r.id for r in by_bill] == [ids["bill"]]
        uscc = by_name[0].uscc
        by_uscc = queries.drawdown_page(conn, DrawdownFilter(text=uscc.lower()), TODAY, 0)
        assert [r.id for r in by_uscc] == [ids["april"]]
        assert queries.count_drawdowns(conn, DrawdownFilter(text="不存在的企业"), TODAY) == (0, True)


def test_count_is_exact_or_capped(ledger: Ledger) -> None:
    _book_some(ledger)
    with ledger.connect() as conn:
        assert queries.count_drawdowns(conn, DrawdownFilter(), TODAY) == (4, True)
        assert queries.count_drawdowns(conn, DrawdownFilter(month="2023-03"), TODAY) == (2, True)
        assert queries.count_drawdowns(conn, DrawdownFilter(month="2023-03"), TODAY, cap=1) == (1, False)


def test_dashboard_figures_exclude_reversals(ledger: Ledger) -> None:
    ids = _book_some(ledger)
    with ledger.connect() as conn:
        figures = queries.tool_figures(conn, TODAY)
        relend = figures[ledger.tool("京民融").code]
        # March 1,000,000.00 + April 250,000.50; the June 300.00 was reversed; nothing else drawn in June.
        assert relend.ytd_fen == 100000000 + 25000050
        assert relend.month_fen == 0
        assert relend.ytd_drawdowns == 2
        soon, total = queries.maturing_soon(conn, TODAY, days=30)
        # April's loan and the bill both mature on 2023-07-01, within 30 days; ties in id order.
        assert [r.id for r in soon] == [ids["april"], ids["bill"]] and total == 2


def test_rollover_moves_maturity_into_window(ledger: Ledger) -> None:
    ids = _book_some(ledger)
    # A special tool's loan (rollable; the Beijing relending products draw on 支农支小, which is not).
    special = ledger.book(
        relending(
            uscc(1),
            tool="设备更新改造专项再贷款",
            amount=None,
            principal="100.00",
            lend_rate="3.00",
            drawn_on="2023-04-03",
            maturity_on="2023-07-01",
            ext_ref="SP",
        )
    ).id  # type: ignore[union-attr]
    ledger.rollover(special, "2023-09-01", "企业申请展期")
    with ledger.connect() as conn:
        assert [r.id for r in queries.maturing_soon(conn, TODAY, days=30)[0]] == [ids["april"], ids["bill"]]
        assert queries.maturing_soon(conn, date(2023, 8, 15), days=30)[0][0].id == special
        detail = queries.drawdown_detail(conn, special, TODAY)
        assert detail is not None
        assert detail["current_maturity_on"] == date(2023, 9, 1)
        assert [e["kind"] for e in detail["events"]] == ["rollover"]


def test_enterprise_search_and_views(ledger: Ledger) -> None:
    _book_some(ledger)
    with ledger.connect() as conn:
        found = queries.search_enterprises(conn, "普通")
        assert [e.name for e in found] == ["北京普通服务有限公司"]
        assert queries.search_enterprises(conn, found[0].uscc[:10])[0].uscc == found[0].uscc
        views = dict(queries.documented_views(conn))
        assert "v_drawdown" in views and "amount_yuan" in views["v_drawdown"]
        page, total = queries.audit_page(conn, 0, 3)
        assert len(page) == 3 and total > 3 and page[0]["id"] > page[1]["id"]


def test_windows_near_the_end_read_backwards_match_the_forward_order(ledger: Ledger) -> None:
    """End on a long list reads the window from the other end: every window, in every sort, is the same rows in
    the same order as reading forwards, and the 合计 is the whole filter's, reversals excluded."""
    ids = _book_some(ledger)
    with ledger.read() as conn:
        for sort in queries.SORTS:
            for descending in (True, False):
                flt = DrawdownFilter(sort=sort, descending=descending)
                forward = [row.id for row in queries.drawdown_page(conn, flt, TODAY, 0, 100)]
                total = len(forward)
                for offset in range(total):
                    for limit in (1, 2, 3):
                        window = queries.drawdown_page(conn, flt, TODAY, offset, limit, total)
                        assert [row.id for row in window] == forward[offset : offset + limit], (sort, offset)
        count, fen = queries.sum_drawdowns(conn, DrawdownFilter(), TODAY)
    assert count == 3 and ids["june"] in forward  # listed (struck through), not summed
    assert fen == 100_000_000 + 25_000_050 + 50_000_000
