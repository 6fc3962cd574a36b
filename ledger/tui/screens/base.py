"""What every ledger screen shares: the facade, the app's fixed "today", and running database work off the UI
thread with errors shown as notifications instead of tracebacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Connection
from textual import work
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from ledger.facade import Ledger
from ledger.services import queries
from ledger.tui.errors import describe
from ledger.tui.i18n import t

if TYPE_CHECKING:
    from ledger.tui.app import LedgerApp


class LedgerMixin:
    app: Any

    @property
    def ledger(self) -> Ledger:
        ledger_app: LedgerApp = self.app
        return ledger_app.ledger

    @property
    def today(self) -> date:
        ledger_app: LedgerApp = self.app
        return ledger_app.today

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A connection for the screens' own read-only queries, from the app's read pool (ledger/tui/db.py):
        readers neither queue behind each other nor hold a write lock another operator's booking would wait on."""
        ledger_app: LedgerApp = self.app
        with ledger_app.read_engine.connect() as conn:
            yield conn

    def report_error(self, exc: BaseException) -> None:
        """Called from a worker thread: shows the problem as a notification on the UI thread."""
        self.app.call_from_thread(self.app.notify, describe(exc), severity="error", timeout=8)

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        """(title, help, callback) for the command palette while this screen is active."""
        return []


class LedgerScreen(LedgerMixin, Screen[None]):
    """A top-level screen (one per app mode)."""

    @work(thread=True, exclusive=True, group="institutions", exit_on_error=False)
    def load_institutions(self) -> None:
        """Fetches the banks in a worker and hands them to the screen's `_set_institutions` on the UI thread."""
        try:
            with self.reader() as conn:
                banks = queries.institutions(conn)
        except Exception as exc:
            self.report_error(exc)
            return
        self.app.call_from_thread(self._set_institutions, banks)

    def _set_institutions(self, banks: list[tuple[str, str, str]]) -> None:
        """(code, name, type) rows for the screen's bank selector; screens with one override this."""


class LedgerModal(LedgerMixin, ModalScreen[Any]):
    """A dialog over a screen; escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", t("common.cancel"), id="dialog.cancel")
    ]

    def action_cancel(self) -> None:
        self.dismiss(None)
