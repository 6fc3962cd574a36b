"""A yes/no question (discard an unsaved form, quit with one, approve a request): y answers yes, n or Esc no,
Enter the focused button — the safe answer by default. The buttons say which key does what."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ledger.tui.i18n import t


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", t("common.cancel"), id="confirm.escape"),
        Binding("n", "no", t("common.no"), id="confirm.no"),
        Binding("y", "yes", t("common.yes"), id="confirm.yes"),
    ]

    def __init__(self, question: str, yes_label: str, no_label: str) -> None:
        super().__init__()
        self.question, self.yes_label, self.no_label = question, yes_label, no_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.no_label} (n/Esc)", id="no", variant="primary")
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_no(self) -> None:
        self.dismiss(False)

    def action_yes(self) -> None:
        self.dismiss(True)
