"""Moving around the list as an operator does: PgDn/PgUp keep the cursor on screen, a drawdown is reached by its
number from anywhere (Ctrl+G or "#id" in the search box), and a jump leaves no stale text in the filter boxes."""

from __future__ import annotations

from datetime import date, timedelta

from textual.widgets import DataTable, Input, Static

from ledger.facade import Ledger
from ledger.services import queries
from ledger.services.queries import AuditFilter
from ledger.tui.app import LedgerApp
from ledger.tui.screens.audit_log import parse_audit_filter
from ledger.tui.screens.jump import JumpDialog
from ledger.tui.widgets.drawdown_list import DrawdownList
from tests.factories import add_borrower, relending, setup_bank
from tests.tui.conftest import TODAY, drive, settle


def _book(ledger: Ledger, n: int) -> list[int]:
    setup_bank(ledger)
    firm = add_borrower(ledger, 1)
    ids = []
    for i in range(n):
        day = date(2023, 1, 2) + timedelta(days=i)
        outcome = ledger.book(
            relending(
                firm,
                drawn_on=day.isoformat(),
                maturity_on=(day + timedelta(days=200)).isoformat(),
                amount=f"{10_000 + i}.00",
                ext_ref=f"N{i}",
            )
        )
        ids.append(outcome.id)  # type: ignore[union-attr]
    return ids


def _on_screen(listing: DrawdownList) -> bool:
    top = int(listing.scroll_offset.y)
    return top <= listing.cursor < top + listing.scrollable_content_region.height


@drive
async def test_page_keys_keep_the_cursor_on_screen(ledger: Ledger) -> None:
    ids = _book(ledger, 70)
    app = LedgerApp(ledger, today=TODAY, start="drawdowns")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        listing = app.screen.query_one(DrawdownList)
        listing.focus()
        height = listing.scrollable_content_region.height
        assert 5 < height < 70
        await pilot.press("down", "down")
        for _ in range(3):
            await pilot.press("pagedown")
            await settle(pilot, rounds=2)
            assert _on_screen(listing), (listing.cursor, listing.scroll_offset.y)
        await pilot.press("pagedown", "pagedown", "pagedown")
        await settle(pilot, rounds=2)
        assert listing.cursor == 69 and _on_screen(listing)
        assert listing.current is not None and listing.current.id == min(
            ids
        )  # newest first: the last is the oldest
        await pilot.press("pageup")
        await settle(pilot, rounds=2)
        assert _on_screen(listing) and listing.cursor < 69
        await pilot.press("home")
        await settle(pilot, rounds=2)
        assert listing.cursor == 0 and _on_screen(listing)


@drive
async def test_jump_to_a_drawdown_by_number(ledger: Ledger) -> None:
    ids = _book(ledger, 3)
    app = LedgerApp(ledger, today=TODAY, start="dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, JumpDialog)
        await pilot.press("x", "enter")
        await settle(pilot)
        assert isinstance(app.screen, JumpDialog)  # not a number: the dialog says so and stays
        await pilot.press("backspace", *f"#{ids[1]}", "enter")
        await settle(pilot, rounds=6)
        listing = app.screen.query_one(DrawdownList)
        assert listing.total == 1 and listing.current is not None and listing.current.id == ids[1]
        # "#id" in the search box does the same; a later jump empties the box.
        await pilot.press("slash")
        app.screen.query_one("#f-text", Input).value = f"#{ids[2]}"
        await pilot.press("enter")
        await settle(pilot, rounds=6)
        assert listing.total == 1 and listing.current is not None and listing.current.id == ids[2]
        app.open_drawdown(ids[0])
        await settle(pilot, rounds=6)
        assert app.screen.query_one("#f-text", Input).value == ""
        assert listing.current is not None and listing.current.id == ids[0]


def test_audit_filter_terms() -> None:
    flt = parse_audit_filter("action=book actor=alice 2025-06 id=20001")
    assert flt == AuditFilter(
        action="book", actor="alice", entity_id="20001", day_from="2025-06-01", day_to="2025-07-01"
    )
    assert parse_audit_filter("#12 2025-06-30") == AuditFilter(
        record_id=12, day_from="2025-06-30", day_to="2025-07-01"
    )
    assert parse_audit_filter("colour=red") is None and parse_audit_filter("2025-13") is None


@drive
async def test_audit_view_filters_by_action_object_and_record(ledger: Ledger) -> None:
    ids = _book(ledger, 3)
    with ledger.read() as conn:
        everything, total = queries.audit_page(conn, 0, 500)
    booked = [row for row in everything if row["action"] == "book"]
    assert len(booked) == 3 and total > 3
    app = LedgerApp(ledger, today=TODAY, start="audit")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#audit-table", DataTable)
        assert table.row_count == total
        await pilot.press("slash")
        app.screen.query_one("#audit-filter", Input).value = "action=book"
        await pilot.press("enter")
        await settle(pilot)
        assert table.row_count == 3
        shown = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert shown == {str(row["id"]) for row in booked}
        app.screen.query_one("#audit-filter", Input).value = f"id={ids[1]}"
        app.screen.query_one("#audit-filter", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert table.row_count >= 1
        assert all(str(ids[1]) in str(table.get_row_at(i)[4]) for i in range(table.row_count))
        app.screen.query_one("#audit-filter", Input).value = "colour=red"
        app.screen.query_one("#audit-filter", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "无法识别" in str(app.screen.query_one("#audit-page", Static).render())


@drive
async def test_header_scrolls_sideways_with_the_rows(ledger: Ledger) -> None:
    _book(ledger, 3)
    app = LedgerApp(ledger, today=TODAY, start="drawdowns")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        listing = app.screen.query_one(DrawdownList)
        header = app.screen.query_one("#dd-header", Static)
        before = str(header.render())
        assert before.lstrip().startswith("编号")
        listing.scroll_to(x=8, animate=False, immediate=True)
        await settle(pilot)
        after = str(header.render())
        assert not after.lstrip().startswith("编号") and after.lstrip().startswith("发放日")
