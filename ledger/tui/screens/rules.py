"""Rules: the year's key-area share by tool, bank and month, the checks' findings, and a drill-down into the
drawdowns behind any figure (Ledger.share / Ledger.checks / Ledger.share_drilldown, computed in SQL)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Static, TabbedContent, TabPane

from ledger.tui.format import iso, percent, wan, yuan
from ledger.tui.i18n import t
from ledger.tui.screens.base import LedgerModal, LedgerScreen
from ledger.tui.screens.dashboard import share_summary

TABS = (("tool", "rules.by_tool"), ("institution", "rules.by_institution"), ("month", "rules.by_month"))


class ShareReady(Message):
    def __init__(self, result: Any, findings: list[Any] | None, error: str = "") -> None:
        super().__init__()
        self.result, self.findings, self.error = result, findings, error


class RulesScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "focus_year", t("rules.year"), id="rules.year"),
        Binding("r", "reload", t("common.refresh"), id="rules.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.year = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(classes="toolbar"):
            yield Static(t("rules.year") + " ", classes="toolbar-label")
            yield Input(id="rules-year", compact=True, max_length=4)
        with Horizontal(classes="split"):
            with Vertical(classes="left"):
                yield Static(t("common.loading"), id="rules-status")
                with TabbedContent(id="rules-tabs"):
                    for key, label in TABS:
                        with TabPane(t(label), id=f"tab-{key}"):
                            yield DataTable(id=f"share-{key}", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(classes="right"):
                yield Static(t("rules.findings"), classes="panel-title")
                yield Static(t("common.loading"), id="rules-findings")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.year = self.today.year
        with self.prevent(Input.Changed):
            self.query_one("#rules-year", Input).value = str(self.year)
        for key, _ in TABS:
            table = self.query_one(f"#share-{key}", DataTable)
            for label, width in (
                (
                    t(f"col.{'tool' if key == 'tool' else 'institution'}")
                    if key != "month"
                    else t("rules.by_month"),
                    22,
                ),
                (t("rules.key_wan"), 16),
                (t("rules.total_wan"), 16),
                (t("rules.share"), 9),
                (t("col.count"), 8),
            ):
                table.add_column(label, width=width)
        self.query_one("#share-tool", DataTable).focus()
        self.action_reload()

    def action_focus_year(self) -> None:
        self.query_one("#rules-year", Input).focus()

    @on(Input.Submitted, "#rules-year")
    def _year(self, event: Input.Submitted) -> None:
        if event.value.isdigit() and len(event.value) == 4:
            self.year = int(event.value)
            self.action_reload()
            self.query_one("#share-tool", DataTable).focus()

    def action_reload(self) -> None:
        self.query_one("#rules-status", Static).update(t("common.loading"))
        self.load(self.year)

    @work(thread=True, exclusive=True, group="rules", exit_on_error=False)
    def load(self, year: int) -> None:
        as_of = self.today if year == self.today.year else None
        try:
            result = self.ledger.share(year, as_of=as_of)
        except Exception as exc:
            from ledger.tui.errors import describe

            self.post_message(ShareReady(None, None, describe(exc)))
            return
        try:
            findings = self.ledger.checks(year, as_of=as_of)
        except Exception:
            findings = None
        self.post_message(ShareReady(result, findings))

    @on(ShareReady)
    def _ready(self, message: ShareReady) -> None:
        status = self.query_one("#rules-status", Static)
        if message.result is None:
            status.update(f"[red]{message.error}[/]")
            return
        result = message.result
        status.update(f"{self.year} · {t('dash.today')} {iso(result.as_of)}\n{share_summary(result)}")
        for key, rows in (
            ("tool", result.by_tool),
            ("institution", result.by_institution),
            ("month", result.by_month),
        ):
            table = self.query_one(f"#share-{key}", DataTable)
            table.clear()
            for row in rows:
                colour = "green" if row.share is not None and row.share >= result.threshold else "red"
                table.add_row(
                    row.label,
                    Text(wan(row.key_area_fen), justify="right"),
                    Text(wan(row.total_fen), justify="right"),
                    Text(percent(row.share), style=colour, justify="right"),
                    Text(f"{row.drawdowns:,}", justify="right"),
                    key=f"{key}:{row.key}",
                )
        # Wrapped text, not a table: findings are sentences; no space after the mark so Chinese folds cleanly.
        lines = [
            f"[{'red' if f.severity == 'error' else 'yellow'}]●{f.rule_name}[/]:{f.message}"
            for f in message.findings or []
        ]
        self.query_one("#rules-findings", Static).update("\n".join(lines) or t("dash.no_findings"))

    @on(DataTable.RowSelected, "#share-tool, #share-institution, #share-month")
    def _drill(self, event: DataTable.RowSelected) -> None:
        kind, _, key = str(event.row_key.value).partition(":")
        self.app.push_screen(DrilldownScreen(self.year, kind, key))

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (t("rules.year"), "y", self.action_focus_year),
            (t("common.refresh"), "r", self.action_reload),
        ]


class DrillReady(Message):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows


class DrilldownScreen(LedgerModal):
    """The first 500 drawdowns behind one figure, each with why it counted as key area or not."""

    def __init__(self, year: int, kind: str, key: str) -> None:
        super().__init__()
        self.year, self.kind, self.key = year, kind, key

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(f"{t('rules.drill')} · {self.year} · {self.key}", classes="dialog-title")
            yield DataTable(id="drill", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#drill", DataTable)
        for key, width in (
            ("col.id", 7),
            ("col.drawn_on", 10),
            ("col.enterprise", 20),
            ("col.amount_yuan", 16),
            ("col.key_area", 4),
        ):
            table.add_column(t(key), width=width)
        table.add_column("", width=30)
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="drill", exit_on_error=False)
    def load(self) -> None:
        as_of = self.today if self.year == self.today.year else None
        scope: dict[str, Any] = {self.kind: self.key} if self.kind in ("tool", "institution", "month") else {}
        try:
            rows = self.ledger.share_drilldown(self.year, as_of, limit=500, **scope)
        except Exception as exc:
            self.report_error(exc)
            return
        self.post_message(DrillReady(rows))

    @on(DataTable.RowSelected, "#drill")
    def _open(self, event: DataTable.RowSelected) -> None:
        drawdown_id = int(str(event.row_key.value))
        self.dismiss(None)
        self.app.open_drawdown(drawdown_id)

    @on(DrillReady)
    def _ready(self, message: DrillReady) -> None:
        table = self.query_one("#drill", DataTable)
        for row in message.rows:
            table.add_row(
                str(row["id"]),
                iso(row["drawn_on"]),
                row["enterprise_name"],
                Text(yuan(row["amount_fen"]), justify="right"),
                t("common.yes") if row["key_area"] else t("common.no"),
                row.get("explanation") or "",
                key=str(row["id"]),
            )
