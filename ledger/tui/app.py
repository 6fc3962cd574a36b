"""The Textual application: one mode per top-level screen, global key bindings, the command palette.

Why modes: each top-level screen keeps its own state when the operator switches away (a half-typed booking is
still there when they come back from the list). Screens are imported only when first opened, so starting the UI
costs Textual plus the facade, not every screen (first paint < 1 s on a 1M-drawdown database).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from importlib import import_module
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from ledger.facade import Ledger
from ledger.tui.commands import LedgerCommands
from ledger.tui.db import read_engine
from ledger.tui.i18n import t

SCREENS_BY_MODE: dict[str, tuple[str, str]] = {
    "dashboard": ("ledger.tui.screens.dashboard", "DashboardScreen"),
    "drawdowns": ("ledger.tui.screens.drawdowns", "DrawdownsScreen"),
    "new": ("ledger.tui.screens.new_drawdown", "NewDrawdownScreen"),
    "reference": ("ledger.tui.screens.reference", "ReferenceScreen"),
    "rules": ("ledger.tui.screens.rules", "RulesScreen"),
    "reports": ("ledger.tui.screens.reports", "ReportsScreen"),
    "sql": ("ledger.tui.screens.sql_console", "SqlConsoleScreen"),
    "audit": ("ledger.tui.screens.audit_log", "AuditLogScreen"),
    "pending": ("ledger.tui.screens.pending", "PendingScreen"),
}
NAV_KEYS: tuple[tuple[str, str], ...] = (
    ("f1", "dashboard"),
    ("f2", "drawdowns"),
    ("f3", "new"),
    ("f4", "reference"),
    ("f5", "rules"),
    ("f6", "reports"),
    ("f7", "sql"),
    ("f8", "audit"),
    ("f9", "pending"),
)
NAV_LABELS = {
    "dashboard": "nav.dashboard",
    "drawdowns": "nav.drawdowns",
    "new": "nav.new",
    "reference": "nav.reference",
    "rules": "nav.rules",
    "reports": "nav.reports",
    "sql": "nav.sql",
    "audit": "nav.audit",
    "pending": "nav.pending",
}


def parse_keymap(text: str) -> dict[str, str]:
    """LEDGER_TUI_KEYMAP="drawdowns.reverse=ctrl+x;nav.drawdowns=f12": binding id → keys (Posting's keymap idea;
    every binding has an id, listed by the help screen). Malformed entries are ignored."""
    keymap: dict[str, str] = {}
    for entry in text.split(";"):
        binding_id, sep, keys = entry.partition("=")
        if sep and binding_id.strip() and keys.strip():
            keymap[binding_id.strip()] = keys.strip()
    return keymap


def _lazy(mode: str) -> Callable[[], Screen[Any]]:
    module_name, class_name = SCREENS_BY_MODE[mode]

    def make() -> Screen[Any]:
        screen_class: type[Screen[Any]] = getattr(import_module(module_name), class_name)
        return screen_class()

    return make


RELAUNCH = 75  # the app's exit value asking `ledger tui` to start it again (after a language switch)


class LedgerApp(App[int]):
    """`today` is fixed for the session (and for tests and snapshots); every query and event uses it."""

    CSS_PATH = "app.tcss"
    TITLE = t("app.title")
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        mode: _lazy(mode) for mode in SCREENS_BY_MODE
    }
    COMMANDS = App.COMMANDS | {LedgerCommands}
    # Help and quit first, so they stay visible in the footer of a 120-column terminal; `?` also opens help
    # (not a priority binding, so a `?` typed into a field stays a character).
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("f10", "help", t("nav.help"), id="app.help", priority=True),
        Binding("ctrl+q", "quit", t("nav.quit"), id="app.quit", priority=True),
        Binding("question_mark", "help", t("nav.help"), id="app.help_key", key_display="?", show=False),
        Binding("ctrl+p", "command_palette", t("nav.palette"), id="app.palette", priority=True, show=False),
        Binding("ctrl+g", "jump", t("nav.jump"), id="app.jump", priority=True),
        Binding("f11", "switch_language", t("nav.language"), id="app.language", priority=True, show=False),
        *(
            Binding(key, f"open('{mode}')", t(NAV_LABELS[mode]), id=f"nav.{mode}", priority=True)
            for key, mode in NAV_KEYS
        ),
    ]

    def __init__(self, ledger: Ledger, today: date | None = None, start: str = "dashboard") -> None:
        super().__init__()
        self.ledger = ledger
        self.read_engine = read_engine(ledger)
        self.today = today or date.today()
        self.start_mode = start
        self.next_language = ""
        self.relaunch_mode = ""
        # A training ledger trusts typed names: every screen says so, next to the name it trusts.
        training = f" · {t('app.training')}" if ledger.training_mode else ""
        self.sub_title = f"{ledger.actor}{training} · {self.today.isoformat()}"

    def on_mount(self) -> None:
        keymap = parse_keymap(os.environ.get("LEDGER_TUI_KEYMAP", ""))
        if keymap:
            self.set_keymap(keymap)
        self.switch_mode(self.start_mode)

    def on_unmount(self) -> None:
        if self.read_engine is not self.ledger.engine:
            self.read_engine.dispose()

    # -- navigation --------------------------------------------------------------------------------------------
    def action_open(self, mode: str) -> None:
        if mode in SCREENS_BY_MODE and self.current_mode != mode:
            self.switch_mode(mode)

    def open_drawdown(self, drawdown_id: int) -> None:
        """Shows one drawdown in the list (from the dashboard or a drill-down), ready for its actions."""
        self.action_open("drawdowns")

        def show() -> None:
            screen = self.screen
            if hasattr(screen, "show_drawdown"):
                screen.show_drawdown(drawdown_id)

        self.call_after_refresh(show)

    def action_command_palette(self) -> None:
        """Textual's palette, with its prompt in the interface language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(CommandPalette(placeholder=t("palette.placeholder"), id="--command-palette"))

    def action_switch_language(self) -> None:
        """F11 (or the palette): the other language. Labels are fixed when the screens are built, so the app
        ends with RELAUNCH and `ledger tui` starts it again in that language on the same screen; the choice is
        kept in the local ledger.toml when there is one (see ledger/tui/preferences.py)."""
        if self.form_is_dirty():
            self.notify(t("lang.form_dirty"), severity="warning", timeout=6)
            return
        from ledger.tui.i18n import language

        self.next_language = "zh" if language() == "en" else "en"
        self.relaunch_mode = self.current_mode or self.start_mode
        self.exit(RELAUNCH)

    def action_jump(self) -> None:
        """Ctrl+G from any screen: asks for a drawdown number and opens that drawdown in the list."""
        from ledger.tui.screens.jump import JumpDialog

        def go(drawdown_id: int | None) -> None:
            if drawdown_id is not None:
                self.open_drawdown(drawdown_id)

        if not isinstance(self.screen, JumpDialog):
            self.push_screen(JumpDialog(), go)

    def action_help(self) -> None:
        from ledger.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def form_is_dirty(self) -> bool:
        """True if the new-drawdown form (if it was ever opened) holds unsaved input."""
        return any(getattr(screen, "is_dirty", False) for screen in self._screen_stacks.get("new", []))

    async def action_quit(self) -> None:
        """ctrl+q quits with status 0, after asking if a booking is half typed."""
        if not self.form_is_dirty():
            self.exit(0)
            return
        from ledger.tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(
            ConfirmScreen(t("confirm.quit_dirty"), t("nav.quit"), t("confirm.keep_button")), answer
        )
