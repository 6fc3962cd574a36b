"""Ctrl+G: go to a drawdown by its number, from any screen (the list then shows that one drawdown)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerModal


class JumpDialog(LedgerModal):
    """Dismisses with the drawdown number, or None when cancelled."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(t("jump.title"), classes="dialog-title")
            yield Input(id="jump-id", compact=True, placeholder="#20001")
            yield Static("", id="jump-msg", classes="error-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("common.cancel") + " (Esc)", id="jump-cancel")
                yield Button(t("nav.jump") + " (Enter)", id="jump-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#jump-id", Input).focus()

    @on(Input.Changed, "#jump-id")
    def _edited(self) -> None:
        self.query_one("#jump-msg", Static).update("")

    @on(Button.Pressed, "#jump-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#jump-id")
    @on(Button.Pressed, "#jump-ok")
    def _go(self) -> None:
        text = self.query_one("#jump-id", Input).value.strip().lstrip("#").strip()
        if not text.isdigit() or len(text) > 18:
            self.query_one("#jump-msg", Static).update(t("jump.bad"))
            return
        self.dismiss(int(text))
