"""Enterprises and institutions: search a borrower by name or USCC, see its statuses and what it has drawn, add a
borrower, a bank, or a dated status. Searches are capped (first 200 matches) and run in workers."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static

from ledger.domain.enterprise import SIZES
from ledger.services import queries
from ledger.services.queries import EnterpriseRow
from ledger.tui.format import iso, yuan
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerScreen


class Found(Message):
    def __init__(self, text: str, rows: list[EnterpriseRow]) -> None:
        super().__init__()
        self.text, self.rows = text, rows


class EnterpriseDetail(Message):
    def __init__(self, row: EnterpriseRow, statuses: list[dict[str, Any]], totals: tuple[int, int]) -> None:
        super().__init__()
        self.row, self.statuses, self.totals = row, statuses, totals


class Banks(Message):
    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows


class ReferenceScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", t("ref.search"), id="reference.search", key_display="/"),
        Binding("a", "add_enterprise", t("ref.add_enterprise"), id="reference.add_enterprise"),
        Binding("b", "add_institution", t("ref.add_institution"), id="reference.add_institution"),
        Binding("t", "add_status", t("ref.add_status"), id="reference.add_status"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, EnterpriseRow] = {}
        self.selected: EnterpriseRow | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="split"):
            with Vertical(classes="left"):
                with Horizontal(classes="toolbar"):
                    yield Input(placeholder=t("ref.search"), id="ref-search", compact=True)
                yield DataTable(id="ref-enterprises", cursor_type="row", zebra_stripes=True, classes="fill")
            with VerticalScroll(classes="right"):
                yield Static(t("ref.statuses"), classes="panel-title")
                yield Static(t("ref.pick_first"), id="ref-detail")
                yield Static(t("ref.institutions"), classes="panel-title")
                yield DataTable(id="ref-banks", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#ref-enterprises", DataTable)
        for key, width in (("ref.name", 30), ("ref.uscc", 18), ("ref.industry", 8), ("ref.size", 4)):
            table.add_column(t(key), width=width)
        banks = self.query_one("#ref-banks", DataTable)
        for key, width in (("ref.inst_code", 12), ("ref.inst_name", 24)):
            banks.add_column(t(key), width=width)
        self.search("")
        self.load_banks()
        self.query_one("#ref-search", Input).focus()

    @on(Input.Changed, "#ref-search")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(0.3, lambda: self.search(event.value))

    @on(Input.Submitted, "#ref-search")
    def _submitted(self) -> None:
        self.query_one("#ref-enterprises", DataTable).focus()

    @work(thread=True, exclusive=True, group="ref-search", exit_on_error=False)
    def search(self, text: str) -> None:
        try:
            with self.reader() as conn:
                rows = queries.search_enterprises(conn, text, limit=200)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(Found(text, rows))

    @work(thread=True, exclusive=True, group="ref-banks", exit_on_error=False)
    def load_banks(self) -> None:
        try:
            with self.reader() as conn:
                rows = queries.institutions(conn)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(Banks(rows))

    @on(Found)
    def _found(self, message: Found) -> None:
        if message.text != self.query_one("#ref-search", Input).value:
            return
        table = self.query_one("#ref-enterprises", DataTable)
        table.clear()
        self.rows = {row.uscc: row for row in message.rows}
        for row in message.rows:
            table.add_row(row.name, row.uscc, row.industry_code, SIZES.get(row.size, row.size), key=row.uscc)

    @on(Banks)
    def _banks(self, message: Banks) -> None:
        table = self.query_one("#ref-banks", DataTable)
        table.clear()
        for code, name, _ in message.rows:
            table.add_row(code, name, key=code)

    @on(DataTable.RowHighlighted, "#ref-enterprises")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.rows.get(str(event.row_key.value))
        if row is not None:
            self.selected = row
            self.load_detail(row)

    @work(thread=True, exclusive=True, group="ref-detail", exit_on_error=False)
    def load_detail(self, row: EnterpriseRow) -> None:
        try:
            with self.reader() as conn:
                statuses = queries.enterprise_statuses(conn, row.id)
                totals = queries.enterprise_totals(conn, row.id)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(EnterpriseDetail(row, statuses, totals))

    @on(EnterpriseDetail)
    def _detail(self, message: EnterpriseDetail) -> None:
        if self.selected is None or self.selected.uscc != message.row.uscc:
            return
        row = message.row
        lines = [
            f"[b]{row.name}[/b]",
            f"{row.uscc} · {row.industry_code} · {SIZES.get(row.size, row.size)}",
            t("ref.totals", count=f"{message.totals[0]:,}", amount=yuan(message.totals[1])),
            "",
        ]
        for status in message.statuses:
            lapsed = status["valid_to"] is not None and status["valid_to"] < self.today
            text = f"{status['status']}  {iso(status['valid_from'])} — {iso(status['valid_to']) or '…'}"
            lines.append(f"[dim]{text}[/dim]" if lapsed else text)
        if not message.statuses:
            lines.append(t("common.none"))
        self.query_one("#ref-detail", Static).update("\n".join(lines))

    def action_focus_search(self) -> None:
        self.query_one("#ref-search", Input).focus()

    def action_add_enterprise(self) -> None:
        from ledger.tui.screens.reference_dialogs import EnterpriseDialog

        def done(uscc: str | None) -> None:
            if uscc:
                self.query_one("#ref-search", Input).value = uscc

        self.app.push_screen(EnterpriseDialog(self.query_one("#ref-search", Input).value.strip()), done)

    def action_add_institution(self) -> None:
        from ledger.tui.screens.reference_dialogs import InstitutionDialog

        def done(code: str | None) -> None:
            if code:
                self.load_banks()

        self.app.push_screen(InstitutionDialog(), done)

    def action_add_status(self) -> None:
        if self.selected is None:
            self.app.notify(t("ref.pick_first"), severity="warning")
            return
        from ledger.tui.screens.reference_dialogs import StatusDialog

        chosen = self.selected

        def done(result: int | None) -> None:
            if result is not None:
                self.load_detail(chosen)

        self.app.push_screen(StatusDialog(chosen.uscc, chosen.name), done)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (t("ref.add_enterprise"), "a", self.action_add_enterprise),
            (t("ref.add_institution"), "b", self.action_add_institution),
            (t("ref.add_status"), "t", self.action_add_status),
        ]
