"""Moving around the list as an operator does: PgDn/PgUp keep the cursor on screen, a drawdown is reached by its
number from anywhere (Ctrl+G or "#id" in the search box), and a jump leaves no stale text in the filter boxes."""

from __future__ import annotations

from datetime import date, timedelta

from textual.widgets import Input

from ledger.facade import Ledger
from ledger.tui.app import LedgerApp
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
