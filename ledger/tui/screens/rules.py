"""Rules: the year's key-area share by tool, bank and month, the checks' findings, and a drill-down into the
drawdowns behind any figure (Ledger.share / Ledger.checks / Ledger.share_drilldown, computed in SQL)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
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
from ledger.tui.widgets.money_table import TOTAL_KEY, FigureColumn, FigureTable

TABS = (("tool", "rules.by_tool"), ("institution", "rules.by_institution"), ("month", "rules.by_month"))


class ShareReady(Message):
    def __init__(self, result: Any, findings: list[Any] | None, error: str = "") -> None:
        super().__init__()
        self.result, self.findings, self.error = result, findings, error


class FindingsReady(Message):
    def __init__(self, findings: list[Any] | None) -> None:
        super().__init__()
        self.findings = findings


class RulesScreen(LedgerScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "focus_year", t("rules.year"), id="rules.year"),
        Binding("r", "reload", t("common.refresh"), id="rules.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.year = 0
        self.rows: dict[str, Any] = {}
        self.result: Any = None

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
                            yield FigureTable(id=f"share-{key}")
            with VerticalScroll(classes="right"):
                yield Static(t("rules.findings"), classes="panel-title")
                yield Static(t("common.loading"), id="rules-findings")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.year = self.today.year
        with self.prevent(Input.Changed):
            self.query_one("#rules-year", Input).value = str(self.year)
        for key, _ in TABS:
            first = t("rules.by_month") if key == "month" else t(f"col.{key}")
            self.query_one(f"#share-{key}", FigureTable).set_columns(
                [
                    FigureColumn(first, "text" if key == "month" else "name", natural=16),
                    FigureColumn(t("rules.key_wan"), "money"),
                    FigureColumn(t("rules.total_wan"), "money"),
                    FigureColumn(t("rules.share"), "text"),
                    FigureColumn(t("col.count"), "text"),
                ]
            )
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
        self.query_one("#rules-findings", Static).update(t("common.loading"))
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
        # The share first (from share_month: instant); the checks, which read every drawdown of the year, after.
        self.post_message(ShareReady(result, None))
        try:
            findings = self.ledger.checks(year, as_of=as_of)
        except Exception:
            findings = None
        self.post_message(FindingsReady(findings))

    @on(ShareReady)
    def _ready(self, message: ShareReady) -> None:
        status = self.query_one("#rules-status", Static)
        if message.result is None:
            status.update(f"[red]{message.error}[/]")
            return
        result = message.result
        self.result = result
        status.update(f"{self.year} · {t('dash.today')} {iso(result.as_of)}\n{share_summary(result)}")
        self.rows = {}
        for key, rows in (
            ("tool", result.by_tool),
            ("institution", result.by_institution),
            ("month", result.by_month),
        ):
            lines: list[tuple[str | None, list[Any]]] = []
            for row in rows:
                colour = "green" if row.share is not None and row.share >= result.threshold else "red"
                self.rows[f"{key}:{row.key}"] = row
                lines.append(
                    (
                        f"{key}:{row.key}",
                        [
                            row.label,
                            wan(row.key_area_fen),
                            wan(row.total_fen),
                            Text(percent(row.share), style=colour, justify="right"),
                            Text(f"{row.drawdowns:,}", justify="right"),
                        ],
                    )
                )
            total = [
                t("dash.total"),
                wan(result.key_area_fen),
                wan(result.total_fen),
                Text(percent(result.share), justify="right"),
                Text(f"{sum(row.drawdowns for row in rows):,}", justify="right"),
            ]
            self.query_one(f"#share-{key}", FigureTable).set_rows(lines, total)

    @on(FindingsReady)
    def _findings(self, message: FindingsReady) -> None:
        # Wrapped text, not a table: findings are sentences; no space after the mark so Chinese folds cleanly.
        found = [
            f"[{'red' if f.severity == 'error' else 'yellow'}]●{escape(f.rule_name)}[/]:{escape(f.message)}"
            for f in message.findings or []
        ]
        text = "\n".join(found) or (
            t("dash.no_findings") if message.findings is not None else t("common.error")
        )
        self.query_one("#rules-findings", Static).update(text)

    @on(DataTable.RowSelected, "#share-tool, #share-institution, #share-month")
    def _drill(self, event: DataTable.RowSelected) -> None:
        value = str(event.row_key.value)
        row = self.rows.get(value)
        kind, _, key = value.partition(":")
        if value == TOTAL_KEY:
            kind, key = "all", ""
        result = self.result
        label = row.label if row is not None else t("dash.total")
        totals = (
            (row.key_area_fen, row.total_fen, row.drawdowns)
            if row is not None
            else (result.key_area_fen, result.total_fen, None)
            if result is not None
            else None
        )
        self.app.push_screen(DrilldownScreen(self.year, kind, key, label, totals))

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
    """The first 500 drawdowns behind one figure, each with why it counted as key area or not, under the
    figure's own totals (合计 of the whole figure, not only of the rows shown)."""

    def __init__(
        self,
        year: int,
        kind: str,
        key: str,
        label: str = "",
        totals: tuple[int, int, int | None] | None = None,
    ) -> None:
        super().__init__()
        self.year, self.kind, self.key = year, kind, key
        self.label = label or key
        self.totals = totals

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(f"{t('rules.drill')} · {self.year} · {self.label}", classes="dialog-title")
            yield FigureTable(id="drill")

    def on_mount(self) -> None:
        table = self.query_one("#drill", FigureTable)
        table.set_columns(
            [
                FigureColumn(t("col.id"), "text"),
                FigureColumn(t("col.drawn_on"), "text"),
                FigureColumn(t("col.enterprise"), "name", minimum=6),
                FigureColumn(t("col.amount_yuan"), "money"),
                FigureColumn(t("col.key_area"), "text"),
                FigureColumn(t("rules.why"), "name", minimum=8),
            ]
        )
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
        if event.row_key.value == TOTAL_KEY:
            return
        drawdown_id = int(str(event.row_key.value))
        self.dismiss(None)
        self.app.open_drawdown(drawdown_id)

    @on(DrillReady)
    def _ready(self, message: DrillReady) -> None:
        lines: list[tuple[str | None, list[Any]]] = [
            (
                str(row["id"]),
                [
                    Text(str(row["id"]), justify="right"),
                    iso(row["drawn_on"]),
                    row["enterprise_name"],
                    yuan(row["amount_fen"]),
                    t("common.yes") if row["key_area"] else t("common.no"),
                    row.get("explanation") or "",
                ],
            )
            for row in message.rows
        ]
        total: list[Any] | None = None
        if self.totals is not None:
            key_fen, total_fen, n = self.totals
            shown = f"{len(lines):,}" + (f"/{n:,}" if n is not None else "")
            total = [
                t("dash.total"),
                shown,
                "",
                yuan(total_fen),
                "",
                f"{t('rules.key_area_part')} {yuan(key_fen)}",
            ]
        self.query_one("#drill", FigureTable).set_rows(lines, total)
