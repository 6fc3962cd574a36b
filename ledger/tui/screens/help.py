"""F10 / `?`: the app's own keys on the screen underneath and the global ones, read from the live bindings (so it
never lies), in the interface language. Bindings Textual's widgets define for themselves (cursor keys, copy and
paste in an input) are left out: they are the same in every Textual app and have no translation here."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ledger.tui.i18n import t


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", t("nav.back"), id="help.close"),
        Binding("question_mark", "dismiss", t("nav.back"), show=False, id="help.close2"),
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(t("help.title"), classes="dialog-title")
            yield Static(self._table(), id="help-keys")
            yield Static(t("help.palette"), classes="muted")

    def _table(self) -> Table:
        table = Table(box=None, expand=True, show_header=False, padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_column(style="dim")
        seen: set[tuple[str, str]] = set()
        app_bindings: list[Any] = own_bindings(type(self.app))
        groups = [(t("help.screen"), self._screen_bindings()), (t("help.global"), app_bindings)]
        for title, bindings in groups:
            table.add_row(f"[u]{title}[/u]", "", "")
            for binding in bindings:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                key = binding.key_display or self.app.get_key_display(binding)
                if (key, binding.description) in seen:
                    continue
                seen.add((key, binding.description))
                table.add_row(key, binding.description, binding.id or "")
        return table

    def _screen_bindings(self) -> list[Binding]:
        out: list[Binding] = []
        for node in [self.under, *self.under.walk_children()]:
            out.extend(own_bindings(type(node)))
        return out

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)


def own_bindings(cls: type) -> list[Binding]:
    """The bindings the ledger's own classes declare (not those inherited from Textual's)."""
    out: list[Binding] = []
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("ledger."):
            out.extend(b for b in klass.__dict__.get("BINDINGS", []) if isinstance(b, Binding))
    return out
