"""SQL console for audits, the same implementation as `ledger sql` (ledger.services.sqlconsole: one query, run by
the database as a read-only role with a time limit), results capped at 500 rows with "500 of >500" when there are
more, CSV export of the full result streamed to a file (never the ledger, never over an existing file), and the
documented views with their columns beside the editor."""

from __future__ import annotations

import contextlib
import csv
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Static, TextArea, Tree

from ledger.io.readers import safe_cell
from ledger.services import queries, sqlconsole
from ledger.services.safe_output import open_output
from ledger.tui.errors import describe
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerScreen

ROW_CAP = 500


class ResultReady(Message):
    def __init__(self, result: sqlconsole.QueryResult | None, error: str = "") -> None:
        super().__init__()
        self.result, self.error = result, error


class ViewsReady(Message):
    def __init__(self, views: list[tuple[str, list[str]]]) -> None:
        super().__init__()
        self.views = views


class Exported(Message):
    def __init__(self, text: str, ok: bool) -> None:
        super().__init__()
        self.text, self.ok = text, ok


def cell(value: Any) -> str:
    """Exact text for every value (Decimal stays Decimal text; no float formatting)."""
    return "NULL" if value is None else str(value)


class SqlConsoleScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "run", t("sql.run"), id="sql.run", priority=True),
        Binding("ctrl+e", "export", t("sql.export"), id="sql.export", priority=True),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="split"):
            with Vertical():
                yield TextArea(
                    "SELECT tool_code, COUNT(*) AS n, SUM(amount_fen) AS fen\nFROM drawdown GROUP BY tool_code",
                    id="sql-editor",
                    language=None,
                    show_line_numbers=True,
                )
                with Horizontal(classes="toolbar"):
                    yield Static(t("sql.export_path") + " ", classes="toolbar-label")
                    yield Input("export.csv", placeholder=t("sql.export_path"), id="sql-path", compact=True)
                yield Static(t("sql.placeholder"), id="sql-status")
                yield DataTable(id="sql-result", zebra_stripes=True, classes="fill")
            yield Tree(t("sql.views"), id="sql-views")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#sql-editor", TextArea).focus()
        self.load_views()

    @work(thread=True, exclusive=True, group="sql-views", exit_on_error=False)
    def load_views(self) -> None:
        try:
            with self.reader() as conn:
                views = queries.documented_views(conn)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(ViewsReady(views))

    @on(ViewsReady)
    def _views(self, message: ViewsReady) -> None:
        tree = self.query_one("#sql-views", Tree)
        tree.root.expand()
        for name, columns in message.views:
            node = tree.root.add(name, data=name)
            for column in columns:
                node.add_leaf(column, data=column)

    @on(Tree.NodeSelected, "#sql-views")
    def _insert_name(self, event: Tree.NodeSelected[str]) -> None:
        """Enter on a view or column types its name into the editor."""
        if event.node.data:
            self.query_one("#sql-editor", TextArea).insert(str(event.node.data))

    def action_run(self) -> None:
        query = self.query_one("#sql-editor", TextArea).text
        self.query_one("#sql-status", Static).update(t("common.loading"))
        self.run_query(query)

    @work(thread=True, exclusive=True, group="sql-run", exit_on_error=False)
    def run_query(self, query: str) -> None:
        try:
            result = self.ledger.sql(query, ROW_CAP)
        except Exception as exc:
            self.post_message(ResultReady(None, describe(exc)))
            return
        self.post_message(ResultReady(result))

    @on(ResultReady)
    def _result(self, message: ResultReady) -> None:
        status = self.query_one("#sql-status", Static)
        table = self.query_one("#sql-result", DataTable)
        if message.result is None:
            status.update(f"[red]{message.error}[/]")
            return
        result = message.result
        table.clear(columns=True)
        table.add_columns(*result.columns)
        table.add_rows([tuple(cell(v) for v in row) for row in result.rows])
        shown = f"{len(result.rows):,}"
        status.update(t("sql.rows_capped", shown=shown) if result.truncated else t("sql.rows", shown=shown))

    def action_export(self) -> None:
        query = self.query_one("#sql-editor", TextArea).text
        path = self.query_one("#sql-path", Input).value.strip() or "export.csv"
        self.export(query, path)

    @work(thread=True, exclusive=True, group="sql-export", exit_on_error=False)
    def export(self, query: str, path: str) -> None:
        """Every row, not just the 500 on screen, streamed from the read-only engine straight to the file."""
        try:
            count = -1
            with (
                open_output(path, "w", protect=self.ledger.own_files, newline="", encoding="utf-8-sig") as fh,
                contextlib.closing(self.ledger.sql_rows(query)) as rows,
            ):
                writer = csv.writer(fh)
                for row in rows:
                    writer.writerow(
                        ["" if v is None else safe_cell(v) if isinstance(v, str) else cell(v) for v in row]
                    )
                    count += 1
        except Exception as exc:
            self.post_message(Exported(describe(exc), False))
            return
        self.post_message(Exported(t("sql.exported", n=f"{max(count, 0):,}", path=path), True))

    @on(Exported)
    def _exported(self, message: Exported) -> None:
        self.app.notify(message.text, severity="information" if message.ok else "error")

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [(t("sql.run"), "ctrl+r", self.action_run), (t("sql.export"), "ctrl+e", self.action_export)]
