"""Reports: pick a month, generate the month-end PDFs in a background worker, and list what has been generated
with its sha256 (the report_record registry), so an archived copy can be checked against it.

reportlab is imported by the worker when a batch runs, never at startup.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Footer, Header, Input, ProgressBar, Static

from ledger.services import queries
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerScreen


class Records(Message):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows


class BatchDone(Message):
    def __init__(self, text: str, ok: bool) -> None:
        super().__init__()
        self.text, self.ok = text, ok


class ReportsScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "generate", t("rep.generate"), id="reports.generate"),
        Binding("r", "reload", t("common.refresh"), id="reports.refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="toolbar"):
            yield Static(t("rep.period") + " ", classes="toolbar-label")
            yield Input(placeholder=t("rep.month"), id="rep-month", compact=True)
            yield Static(" " + t("rep.out_dir") + " ", classes="toolbar-label")
            yield Input("reports", placeholder=t("rep.out_dir"), id="rep-dir", compact=True)
            yield Button(t("rep.generate") + " (g)", id="rep-generate", variant="primary", compact=True)
        with Vertical(id="rep-status"):
            yield ProgressBar(total=None, show_eta=False, id="rep-progress")
            yield Static("", id="rep-message")
        yield DataTable(id="rep-records", cursor_type="row", zebra_stripes=True, classes="fill")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        previous = self.today.replace(day=1)
        month = f"{previous.year - (previous.month == 1)}-{(previous.month - 2) % 12 + 1:02d}"
        self.query_one("#rep-month", Input).value = month
        self.query_one("#rep-progress", ProgressBar).display = False
        table = self.query_one("#rep-records", DataTable)
        for key, width in (
            ("rep.period", 8),
            ("col.tool", 6),
            ("rep.file", 26),
            ("col.hash", 64),
            ("rep.generated_at", 20),
        ):
            table.add_column(t(key), width=width)
        self.query_one("#rep-records", DataTable).focus()
        self.action_reload()

    def action_reload(self) -> None:
        self.load_records()

    @work(thread=True, exclusive=True, group="rep-records", exit_on_error=False)
    def load_records(self) -> None:
        try:
            with self.reader() as conn:
                rows = queries.report_records(conn)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(Records(rows))

    @on(Records)
    def _records(self, message: Records) -> None:
        table = self.query_one("#rep-records", DataTable)
        table.clear()
        for row in message.rows:
            table.add_row(
                row["period"],
                row["tool_code"] or "—",
                row["file_name"],
                row["sha256"],
                str(row["generated_at"])[:19],
                key=str(row["id"]),
            )

    @on(Button.Pressed, "#rep-generate")
    def action_generate(self) -> None:
        month = self.query_one("#rep-month", Input).value.strip()
        out_dir = self.query_one("#rep-dir", Input).value.strip() or "."
        self.query_one("#rep-generate", Button).disabled = True
        self.query_one("#rep-progress", ProgressBar).display = True
        self.query_one("#rep-message", Static).update(t("rep.running"))
        self.generate(month, out_dir)

    @work(thread=True, exclusive=True, group="rep-batch", exit_on_error=False)
    def generate(self, month: str, out_dir: str) -> None:
        started = time.perf_counter()
        try:
            from ledger.reports.batch import monthly_reports

            results = monthly_reports(self.ledger, month, out_dir=out_dir)
        except Exception as exc:
            from ledger.tui.errors import describe

            self.post_message(BatchDone(describe(exc), False))
            return
        seconds = time.perf_counter() - started
        self.post_message(BatchDone(f"{t('rep.done', n=len(results))} · {out_dir} · {seconds:.1f}s", True))

    @on(BatchDone)
    def _done(self, message: BatchDone) -> None:
        self.query_one("#rep-generate", Button).disabled = False
        self.query_one("#rep-progress", ProgressBar).display = False
        colour = "green" if message.ok else "red"
        self.query_one("#rep-message", Static).update(f"[{colour}]{message.text}[/]")
        self.load_records()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [(t("rep.generate"), "g", self.action_generate)]
