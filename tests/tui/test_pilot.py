"""The TUI driven as an operator would, on both backends: book through the form, filter the list, reverse from
the list, run a query, keep an unsaved form, quit with status 0. Every assertion checks the ledger or what the
screen shows, derived from the bookings made in the test."""

from __future__ import annotations

from datetime import date

from textual.widgets import DataTable, Input, OptionList, Select, Static, TextArea

from ledger.facade import Ledger
from ledger.services import queries
from ledger.services.queries import DrawdownFilter
from ledger.tui.app import LedgerApp
from ledger.tui.i18n import t
from ledger.tui.screens.confirm import ConfirmScreen
from ledger.tui.screens.event_dialog import EventDialog
from ledger.tui.widgets.drawdown_list import DrawdownList
from ledger.tui.widgets.money_table import TOTAL_KEY
from tests.factories import BANK, add_borrower, bill, rediscount, relending, setup_bank
from tests.tui.conftest import TODAY, drive, settle


def _text(app: LedgerApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _type(pilot, selector: str, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.click(selector)
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.press(*text)


@drive
async def test_book_a_drawdown_through_the_form(ledger: Ledger) -> None:
    setup_bank(ledger)
    uscc = add_borrower(ledger, 1, industry="C3911", name="北京精密制造有限公司")
    app = LedgerApp(ledger, today=TODAY, start="new")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#f-tool", Select).value = ledger.tool("京民融").code
        screen.query_one("#f-institution_code", Select).value = BANK
        # Enterprise by name: the suggestion list offers it, Enter on it fills in the USCC.
        await _type(pilot, "#f-enterprise_uscc", "精密")
        await settle(pilot)
        suggestions = screen.query_one("#suggestions", OptionList)
        assert suggestions.option_count == 1 and not suggestions.has_class("empty")
        suggestions.focus()
        suggestions.highlighted = 0
        await pilot.press("enter")
        await settle(pilot)
        assert screen.query_one("#f-enterprise_uscc", Input).value == uscc
        # The maturity defaults to the tool's term; one before the drawdown date is flagged as it is typed.
        assert screen.query_one("#f-maturity_on", Input).value == "2024-06-15"
        screen.query_one("#f-maturity_on", Input).value = ""
        await _type(pilot, "#f-maturity_on", "2023-01-01")
        await settle(pilot)
        assert "到期日须晚于发放日" in _text(app, "#msg-maturity_on")
        screen.query_one("#f-maturity_on", Input).value = "2024-06-15"
        await _type(pilot, "#f-amount", "1,250,000.50")
        await _type(pilot, "#f-lend_rate", "3.45")
        await settle(pilot)
        assert _text(app, "#msg-maturity_on") == ""
        # The rate came from the rate table for 2023-06-15 at the loan's own 12-month term.
        assert screen.query_one("#f-cb_rate", Input).value == str(
            ledger.tool("京民融").rate_table.rate_on(TODAY, 12)
        )
        preview = _text(app, "#form-preview")
        assert "1,250,000.50" in preview and "重点领域:是" in preview  # C3911 is manufacturing
        # The year's share before → after: nothing booked yet, then this key-area loan alone is 100%.
        assert "本年重点领域占比:— → 100.00%" in preview
        await pilot.press("ctrl+s")
        await settle(pilot)
    with ledger.connect() as conn:
        rows = queries.drawdown_page(conn, DrawdownFilter(), TODAY, 0)
    assert [(r.amount_fen, r.uscc, r.key_area, r.maturity_on) for r in rows] == [
        (125000050, uscc, True, date(2024, 6, 15))
    ]


@drive
async def test_form_rejects_and_keeps_what_was_typed(ledger: Ledger) -> None:
    setup_bank(ledger)
    app = LedgerApp(ledger, today=TODAY, start="new")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#f-tool", Select).value = ledger.tool("再贴现").code
        await settle(pilot)
        # Rediscount shows the bill fields and hides the separate central-bank amount.
        assert not screen.query_one("#row-bill_no").has_class("hidden")
        assert screen.query_one("#row-amount").has_class("hidden")
        assert t("form.principal.rediscount") in _text(app, "#label-principal")
        await _type(pilot, "#f-bill_no", "12345")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert _text(app, "#msg-bill_no") != ""  # shown beside the field once saving was tried
        assert _text(app, "#msg-enterprise_uscc") != ""
        # A stray escape asks before discarding; "keep editing" keeps every character.
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the focused default is the safe answer
        await settle(pilot)
        assert screen.query_one("#f-bill_no", Input).value == "12345"
        # ctrl+q with a dirty form asks too, and does not quit.
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("escape")
    with ledger.connect() as conn:
        assert queries.count_drawdowns(conn, DrawdownFilter(), TODAY) == (0, True)


async def _book_three(ledger: Ledger) -> dict[str, int]:
    setup_bank(ledger)
    green = add_borrower(ledger, 1, industry="C3825", name="北京绿色制造有限公司")
    plain = add_borrower(ledger, 2, name="北京普通服务有限公司")
    return {
        "march": ledger.book(relending(plain, amount="1000000.00")).id,  # type: ignore[union-attr]
        "april": ledger.book(relending(green, drawn_on="2023-04-03", amount="250000.50")).id,  # type: ignore[union-attr]
        "bill": ledger.book(rediscount(plain, bill(7))).id,  # type: ignore[union-attr]
    }


@drive
async def test_filter_the_list(ledger: Ledger) -> None:
    ids = await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="drawdowns")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        listing = app.screen.query_one(DrawdownList)
        assert listing.total == 3 and listing.current is not None and listing.current.id == ids["bill"]
        assert "3" in _text(app, "#dd-status")
        await pilot.press("slash", *"普通服务")
        await settle(pilot)
        assert listing.total == 2
        assert sorted(r.id for r in (listing.row_at(0), listing.row_at(1)) if r) == sorted(
            [ids["march"], ids["bill"]]
        )
        # Narrow further by month in the database: only the March loan (the bill was also drawn 2023-03-01).
        app.screen.query_one("#f-tool", Select).value = ledger.tool("京民融").code
        await settle(pilot)
        assert listing.total == 1 and listing.current is not None and listing.current.id == ids["march"]
        assert "1,000,000.00" in _text(app, "#dd-detail")
        await pilot.press("escape", "c")  # back to the list, then clear every filter
        await settle(pilot)
        assert listing.total == 3
        assert app.screen.query_one("#f-text", Input).value == ""
        assert app.screen.query_one("#f-tool", Select).value is Select.NULL


@drive
async def test_reverse_from_the_list(ledger: Ledger) -> None:
    ids = await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="drawdowns")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        listing = app.screen.query_one(DrawdownList)
        listing.focus()
        await pilot.press("down")  # second newest: the April loan
        await settle(pilot)
        assert listing.current is not None and listing.current.id == ids["april"]
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, EventDialog)
        await pilot.press("enter")  # no reason: refused, the dialog stays
        await settle(pilot)
        assert isinstance(app.screen, EventDialog)
        assert "原因" in _text(app, "#ev-reason-msg")
        await pilot.press(*"重复录入")
        await settle(pilot)
        assert _text(app, "#ev-reason-msg") == ""  # the message goes once the reason is typed
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, EventDialog)
        assert listing.current is not None and listing.current.id == ids["april"]
        assert listing.current.status == "reversed"
    assert ledger.state(ids["april"]).reversed
    assert not ledger.state(ids["march"]).reversed


@drive
async def test_run_a_query_and_refuse_a_write(ledger: Ledger, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="sql")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        editor = app.screen.query_one("#sql-editor", TextArea)
        editor.text = "SELECT drawdown_id, amount_yuan FROM v_drawdown ORDER BY drawdown_id"
        await pilot.press("ctrl+r")
        await settle(pilot)
        table = app.screen.query_one("#sql-result", DataTable)
        assert table.row_count == 3
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["1", "2", "3"]
        assert t("sql.rows", shown="3") in _text(app, "#sql-status")
        path = tmp_path / "out.csv"
        app.screen.query_one("#sql-path", Input).value = str(path)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert len(path.read_text(encoding="utf-8-sig").splitlines()) == 4  # header + 3 rows
        editor.text = "DELETE FROM drawdown"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "只读" in _text(app, "#sql-status")
    with ledger.connect() as conn:
        assert queries.count_drawdowns(conn, DrawdownFilter(), TODAY) == (3, True)


@drive
async def test_row_cap_is_said(ledger: Ledger) -> None:
    await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="sql")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        # 3 drawdowns × 600 rows of a cross join: more than the 500-row cap.
        app.screen.query_one("#sql-editor", TextArea).text = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) "
            "SELECT d.id, n.i FROM drawdown d, n"
        )
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.screen.query_one("#sql-result", DataTable).row_count == 500
        assert t("sql.rows_capped", shown="500") in _text(app, "#sql-status")


@drive
async def test_quit_returns_zero(ledger: Ledger) -> None:
    app = LedgerApp(ledger, today=TODAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
    assert app.return_value == 0


@drive
async def test_dashboard_shows_the_year_per_tool(ledger: Ledger) -> None:
    ids = await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        tools = app.screen.query_one("#dash-tools", DataTable)
        relending_row = [str(c).strip() for c in tools.get_row(ledger.tool("京民融").code)]
        # 1,000,000.00 + 250,000.50 yuan drawn this year = 125.00 万元 (half-up); nothing in June.
        assert relending_row[0] == "京民融"
        assert relending_row[1:3] == ["0.00", "125.00"]
        total = [str(c).strip() for c in tools.get_row("__total__")]
        assert total[2] == "175.00"  # plus the 500,000.00 bill
        # Only the bill (maturing 2023-07-01) falls due within 30 days of 2023-06-15; the loans run to 2024.
        assert "共 1 笔" in _text(app, "#dash-maturing-title")
        maturing = app.screen.query_one("#dash-maturing", DataTable)
        assert [str(maturing.get_row_at(i)[1]) for i in range(maturing.row_count)] == [str(ids["bill"])]
        assert "%" in _text(app, "#dash-share")
        # Enter on it opens the list narrowed to that drawdown, ready for repay / roll over.
        maturing.focus()
        await pilot.press("enter")
        await settle(pilot)
        listing = app.screen.query_one(DrawdownList)
        assert app.current_mode == "drawdowns" and listing.total == 1
        assert listing.current is not None and listing.current.id == ids["bill"]


@drive
async def test_reference_screen_adds_an_enterprise_and_a_status(ledger: Ledger) -> None:
    from ledger.domain.uscc import make_uscc

    setup_bank(ledger)
    code = make_uscc("91110108", "55500001")
    app = LedgerApp(ledger, today=TODAY, start="reference")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.screen.query_one("#ref-enterprises", DataTable).focus()
        await pilot.press("a")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#d-uscc", Input).value = code
        dialog.query_one("#d-name", Input).value = "北京新材料有限公司"
        dialog.query_one("#d-industry", Input).value = "X9999"  # no such section: refused beside the field
        dialog.query_one("#d-size", Select).value = "small"
        await pilot.click("#dlg-save")
        await settle(pilot)
        assert app.screen is dialog and "门类" in str(dialog.query_one("#msg-industry_code", Static).render())
        dialog.query_one("#d-industry", Input).value = "C3985"
        await pilot.click("#dlg-save")
        await settle(pilot)
        assert app.screen is not dialog
        assert app.screen.query_one("#ref-search", Input).value == code
        app.screen.query_one("#ref-enterprises", DataTable).focus()
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        status_dialog = app.screen
        status_dialog.query_one("#d-status", Select).value = "高新技术企业"
        status_dialog.query_one("#d-from", Input).value = "2023-01-01"
        await pilot.click("#dlg-save")
        await settle(pilot)
        assert "高新技术企业  2023-01-01 — 2025-12-31" in _text(app, "#ref-detail")
    with ledger.connect() as conn:
        found = queries.search_enterprises(conn, code)
        assert [(e.name, e.industry_code, e.size) for e in found] == [
            ("北京新材料有限公司", "C3985", "small")
        ]
        assert [s["status"] for s in queries.enterprise_statuses(conn, found[0].id)] == ["高新技术企业"]


@drive
async def test_rules_drill_down_and_audit_verify(ledger: Ledger) -> None:
    ids = await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="rules")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        by_tool = app.screen.query_one("#share-tool", DataTable)
        # 京民融 and 再贴现 have drawdowns this year, under the 合计 row.
        assert by_tool.row_count == 3 and str(list(by_tool.rows)[-1].value) == TOTAL_KEY
        assert str(by_tool.get_row_at(2)[0]) == t("dash.total")
        by_tool.focus()
        keys = [str(k.value) for k in by_tool.rows]
        by_tool.move_cursor(row=keys.index("tool:" + ledger.tool("京民融").code))
        await pilot.press("enter")
        await settle(pilot)
        drill = app.screen.query_one("#drill", DataTable)
        shown = [str(drill.get_row_at(i)[0]) for i in range(drill.row_count)]
        assert sorted(int(cell) for cell in shown[:-1]) == [ids["march"], ids["april"]]
        assert shown[-1] == t("dash.total")  # the figure's own 合计 closes the drill-down
        await pilot.press("escape", "f8")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert "审计链完整" in _text(app, "#audit-verify")


@drive
async def test_rules_screen_offers_period_measure_and_office(ledger: Ledger) -> None:
    await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="rules")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        year_box = app.screen.query_one("#rules-year", Input)
        year_box.value = ""
        await _type(pilot, "#rules-year", "2023Q1")
        await pilot.press("enter")
        await settle(pilot)
        status = _text(app, "#rules-status")
        assert "2023-01-01~2023-03-31" in status and "150.00" in status  # March's two, not April's
        assert app.screen.query_one("#share-month", DataTable).row_count == 4  # three months and the 合计 row
        app.screen.query_one("#rules-measure", Select).value = "private_small"
        await settle(pilot)
        assert "民营、小微企业" in _text(app, "#rules-status")
        await _type(pilot, "#rules-office", "中关村中心支行")
        await pilot.press("enter")
        await settle(pilot)
        status = _text(app, "#rules-status")
        assert (
            "中关村中心支行" in status and app.screen.query_one("#share-tool", DataTable).row_count == 1
        )  # the 合计 row alone


@drive
async def test_checker_approves_a_queued_booking(db_url: str) -> None:
    from tests.conftest import fixture_actor, set_policy, staff

    admin = Ledger(db_url, actor=fixture_actor(db_url))
    admin.init()
    set_policy(admin, maker_checker={"default_limit_yuan": "500000"})
    setup_bank(admin)
    borrower = add_borrower(admin, 1)
    people = staff(admin, maker="operator", checker="checker")
    maker, checker = people["maker"], people["checker"]
    queued = maker.book(relending(borrower, amount="1000000.00"))
    small = maker.book(relending(borrower, amount="400000.00", ext_ref="small"))
    assert getattr(queued, "pending", False) and not getattr(small, "pending", False)
    app = LedgerApp(checker, today=TODAY, start="pending")
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await settle(pilot)
            table = app.screen.query_one("#pend-table", DataTable)
            assert table.row_count == 1 and "待复核 1 笔" in _text(app, "#pend-status")
            await pilot.press("y")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.click("#yes")
            await settle(pilot)
            assert table.row_count == 0 and "待复核 0 笔" in _text(app, "#pend-status")
        with checker.connect() as conn:
            rows = queries.drawdown_page(conn, DrawdownFilter(), TODAY, 0)
        assert sorted(r.amount_fen for r in rows) == [40000000, 100000000]
    finally:
        for person in (*people.values(), admin):
            person.dispose()


@drive
async def test_keys_can_be_remapped_by_binding_id(ledger: Ledger, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LEDGER_TUI_KEYMAP", "nav.sql=f12;bad entry")
    app = LedgerApp(ledger, today=TODAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f12")
        await settle(pilot)
        assert app.current_mode == "sql"


@drive
async def test_palette_offers_the_screens_own_commands(ledger: Ledger) -> None:
    ids = await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="drawdowns")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"冲正")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EventDialog) and app.screen.row.id == ids["bill"]


@drive
async def test_reports_generate_in_the_background_and_list_sha256(ledger: Ledger, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    await _book_three(ledger)
    app = LedgerApp(ledger, today=TODAY, start="reports")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        app.screen.query_one("#rep-month", Input).value = "2023-03"
        app.screen.query_one("#rep-dir", Input).value = str(tmp_path)
        await pilot.press("g")
        await settle(pilot, rounds=8)
        assert "已生成" in _text(app, "#rep-message")
        table = app.screen.query_one("#rep-records", DataTable)
        listed = {str(table.get_row_at(i)[2]): str(table.get_row_at(i)[3]) for i in range(table.row_count)}
    pdfs = sorted(tmp_path.glob("*.pdf"))
    assert pdfs and len(listed) == len(pdfs)
    for pdf in pdfs:  # the sha256 on screen is the file's
        assert listed[pdf.name] == hashlib.sha256(pdf.read_bytes()).hexdigest()
