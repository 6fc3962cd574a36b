"""The new-drawdown form as an operator types into it: the default rate follows the tool, the date and the term
until the operator types one; the maturity defaults from the tool's term; a picked company's name stays beside the
USCC; Esc closes the suggestions before it offers to discard the form; a wrong USCC check character is named."""

from __future__ import annotations

from datetime import date

from textual.widgets import Button, Input, OptionList, Select, Static

from ledger.domain.dates import add_months
from ledger.facade import Ledger
from ledger.tui.app import LedgerApp
from ledger.tui.screens.confirm import ConfirmScreen
from tests.factories import add_borrower, setup_bank, uscc
from tests.tui.conftest import TODAY, drive, settle


def _value(app: LedgerApp, selector: str) -> str:
    return app.screen.query_one(selector, Input).value


def _message(app: LedgerApp, name: str) -> str:
    return str(app.screen.query_one(f"#msg-{name}", Static).render())


@drive
async def test_rate_and_maturity_follow_tool_date_and_term(ledger: Ledger) -> None:
    tool = ledger.tool("京民融")
    before, after = date(2026, 1, 5), date(2026, 12, 5)
    term = tool.max_term_months or 0  # the rate follows the drawdown's own term (the maturity defaults to it)
    rate_before, rate_after = tool.rate_table.rate_on(before, term), tool.rate_table.rate_on(after, term)
    assert rate_before != rate_after and tool.max_term_months
    app = LedgerApp(ledger, today=TODAY, start="new")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#f-tool", Select).value = tool.code
        await settle(pilot)
        # The maturity is the drawdown date plus the tool's term.
        assert _value(app, "#f-maturity_on") == add_months(TODAY, tool.max_term_months).isoformat()
        screen.query_one("#f-drawn_on", Input).value = before.isoformat()
        await settle(pilot)
        assert _value(app, "#f-cb_rate") == str(rate_before)
        assert _value(app, "#f-maturity_on") == add_months(before, tool.max_term_months).isoformat()
        # Changing the date again recomputes the rate (it used to keep the first one).
        screen.query_one("#f-drawn_on", Input).value = after.isoformat()
        await settle(pilot)
        assert _value(app, "#f-cb_rate") == str(rate_after)
        assert f"{rate_after}%" in _message(app, "cb_rate")
        # A rate the operator typed stays when the date changes; a maturity the operator typed stays too.
        screen.query_one("#f-cb_rate", Input).value = "1.11"
        screen.query_one("#f-maturity_on", Input).value = "2027-03-01"
        await settle(pilot)
        screen.query_one("#f-drawn_on", Input).value = before.isoformat()
        await settle(pilot)
        assert _value(app, "#f-cb_rate") == "1.11"
        assert _value(app, "#f-maturity_on") == "2027-03-01"


@drive
async def test_picked_name_stays_and_escape_closes_suggestions_first(ledger: Ledger) -> None:
    setup_bank(ledger)
    code = add_borrower(ledger, 7, name="北京精密制造有限公司")
    app = LedgerApp(ledger, today=TODAY, start="new")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#f-tool", Select).value = ledger.tool("京民融").code
        box = screen.query_one("#f-enterprise_uscc", Input)
        box.focus()
        await pilot.press(*"精密")
        await settle(pilot)
        suggestions = screen.query_one("#suggestions", OptionList)
        assert not suggestions.has_class("empty")
        # Esc closes the suggestions only: no discard question, the typed text stays.
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert suggestions.has_class("empty") and box.value == "精密"
        # Typing on reopens them; picking one fills the USCC and the name stays after the form re-checks.
        await pilot.press("backspace", *"密")
        await settle(pilot)
        suggestions.focus()
        suggestions.highlighted = 0
        await pilot.press("enter")
        await settle(pilot, rounds=6)
        assert box.value == code
        assert "北京精密制造有限公司" in _message(app, "enterprise_uscc")
        # With the suggestions closed, Esc on a form with input asks before discarding.
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)


@drive
async def test_wrong_check_character_is_named(ledger: Ledger) -> None:
    setup_bank(ledger)
    good = uscc(9)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    app = LedgerApp(ledger, today=TODAY, start="new")
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#f-tool", Select).value = ledger.tool("京民融").code
        box = screen.query_one("#f-enterprise_uscc", Input)
        box.focus()
        await pilot.press(*wrong)
        await settle(pilot, rounds=6)
        message = _message(app, "enterprise_uscc")
        assert "校验位" in message and good[17] in message and "未登记" not in message


@drive
async def test_confirm_dialog_answers_y_n_and_escape(ledger: Ledger) -> None:
    answers: list[bool | None] = []
    app = LedgerApp(ledger, today=TODAY, start="dashboard")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in ("y", "n", "escape", "enter"):
            app.push_screen(ConfirmScreen("?", "放弃", "保留"), answers.append)
            await settle(pilot)
            buttons = [str(b.label) for b in app.screen.query(Button)]
            assert buttons == ["保留 (n/Esc)", "放弃 (y)"]
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
    # Enter presses the focused button, the safe one.
    assert answers == [True, False, False, False]
